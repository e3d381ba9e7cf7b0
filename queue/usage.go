package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// UsageBucket is the key-value bucket of billing records: one key per
// request a provider billed, kept for 400 days.
const UsageBucket = "narrator-usage"

const usageTTL = 400 * 24 * time.Hour

// Billing is one request a provider billed.
type Billing struct {
	ID       string    // names the request: a record is stored once, however often it is retried
	Provider string    // "openai", "polly"
	Job      string    // the job and chunk the request was for
	Rev      int       //
	Chunk    int       //
	Chars    int       // characters billed; seconds of audio for ListenBilling
	Time     time.Time // when; its UTC day is the day billed
}

// ListenBilling is the provider name of the listening check's records:
// their count is seconds of audio transcribed (rounded up per request, as
// OpenAI bills), not characters.
const ListenBilling = "listen"

// NewBillingID returns an id for a request about to be made.
func NewBillingID() string { return nonce() }

// billingKey is provider.YYYY-MM.DD.job.rev.chunk.id, so that a month, a
// day and a job revision are each one pattern.
func billingKey(b Billing) string {
	t := b.Time.UTC()
	return b.Provider + "." + t.Format("2006-01") + "." + t.Format("02") + "." + b.Job + "." +
		strconv.Itoa(b.Rev) + "." + strconv.Itoa(b.Chunk) + "." + b.ID
}

// Bill records what a provider billed for one request. Billed characters
// are derived from these records rather than kept in counters, so a
// request whose answer is lost in a failover is retried without ever
// counting twice: the record's key names the request, and storing it again
// finds it there.
func (s *Jobs) Bill(ctx context.Context, b Billing) error {
	if b.ID == "" || !ValidID(b.Provider) || !ValidID(b.Job) || b.Chars <= 0 {
		return fmt.Errorf("queue: billing record %+v: incomplete", b)
	}
	err := s.bills.create(ctx, billingKey(b), []byte(strconv.Itoa(b.Chars)))
	if err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("queue: bill %d characters of job %s chunk %d: %w", b.Chars, b.Job, b.Chunk, err)
	}
	return nil
}

// Billed returns the characters a provider billed on each day of a UTC
// month, by day of the month.
func (s *Jobs) Billed(ctx context.Context, provider string, month time.Time) (map[int]int, error) {
	byDay := map[int]int{}
	err := s.sumBilled(ctx, provider+"."+month.UTC().Format("2006-01")+".>", func() { clear(byDay) }, func(key string, n int) {
		day, _ := strconv.Atoi(strings.Split(key, ".")[2])
		byDay[day] += n
	})
	if err != nil {
		return nil, fmt.Errorf("queue: billed by %s: %w", provider, err)
	}
	return byDay, nil
}

// JobBilled returns the characters billed for a job revision, every
// attempt of every chunk included.
func (s *Jobs) JobBilled(ctx context.Context, provider, job string, rev int) (int, error) {
	total := 0
	err := s.sumBilled(ctx, provider+".*.*."+job+"."+strconv.Itoa(rev)+".>", func() { total = 0 }, func(_ string, n int) { total += n })
	if err != nil {
		return 0, fmt.Errorf("queue: billed for job %s: %w", job, err)
	}
	return total, nil
}

func (s *Jobs) sumBilled(ctx context.Context, pattern string, reset func(), add func(key string, n int)) error {
	return s.bills.each(ctx, pattern, reset, func(e jetstream.KeyValueEntry) error {
		n, err := strconv.Atoi(string(e.Value()))
		if err != nil {
			return fmt.Errorf("billing record %s: %w", e.Key(), err)
		}
		add(e.Key(), n)
		return nil
	})
}
