package pipeline

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
	"unicode/utf8"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/clean"
	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/lexicon"
	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/stitch"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/webhook"
)

func (p *Pipeline) cleanStage(ctx context.Context) error {
	return queue.Run(ctx, p.Queue, stage(StageClean, p, p.clean))
}

// clean turns the job's source into a script.
func (p *Pipeline) clean(ctx context.Context, t Task) ([]queue.Message, error) {
	j, err := p.begin(ctx, t, StageClean)
	if err != nil {
		return nil, err
	}
	in := clean.Input{Title: j.Options.Title}
	switch j.Source.Kind {
	case "url":
		page, err := p.Fetcher.Fetch(ctx, j.Source.URL)
		if err != nil {
			return nil, err
		}
		in.Body, in.ContentType, in.URL = page.Body, page.ContentType, page.URL
	default:
		in.Body, err = p.Queue.Blobs().Bytes(ctx, j.Source.Blob)
		if err != nil {
			return nil, err
		}
		in.ContentType, in.URL = contentTypes[j.Source.Kind], j.Source.URL
	}
	var s script.Script
	if cerr := p.onCPU(ctx, j.Priority, func() { s, err = p.Cleaner.Clean(ctx, in) }); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, err
	}
	if j.Options.Language != "" {
		s.Language = j.Options.Language
	}
	if err := p.Queue.Blobs().PutJSON(ctx, scriptBlob(t), s); err != nil {
		return nil, err
	}
	if _, err := p.finish(ctx, t, StageClean, func(j *queue.Job) {
		j.Title, j.Chars, j.Language, j.TextHash = s.Title, s.Chars(), s.Language, s.TextHash()
	}); err != nil {
		return nil, err
	}
	return []queue.Message{t.to(StageChunk)}, nil
}

var contentTypes = map[string]string{
	"html":     "text/html; charset=utf-8",
	"text":     "text/plain; charset=utf-8",
	"markdown": "text/markdown; charset=utf-8",
}

func (p *Pipeline) chunkStage(ctx context.Context) error {
	return queue.Run(ctx, p.Queue, stage(StageChunk, p, p.chunk))
}

// chunk splits the script into chunks and fans out one synthesis task per
// chunk, all at once, so chunks synthesize in parallel up to the limits.
func (p *Pipeline) chunk(ctx context.Context, t Task) ([]queue.Message, error) {
	j, err := p.begin(ctx, t, StageChunk)
	if err != nil {
		return nil, err
	}
	var s script.Script
	if err := p.Queue.Blobs().GetJSON(ctx, scriptBlob(t), &s); err != nil {
		return nil, err
	}
	var chunks []script.Chunk
	var lex *lexicon.Lexicon
	if cerr := p.onCPU(ctx, j.Priority, func() { chunks, lex, err = p.split(ctx, s, j.Options) }); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, err
	}
	if len(chunks) == 0 {
		return nil, fault.Permanent(errors.New("chunk: the article has no text to read"))
	}
	for i, ch := range chunks {
		// Text no voice can read fails the job here, before any request is
		// paid for; the synth stage checks again against the voice.
		if err := synth.Readable(ch.Text, ""); err != nil {
			return nil, fmt.Errorf("chunk %d: %w", i, err)
		}
	}
	estimate := p.cfg.estimate(chunks, j.Options)
	if p.cfg.JobMaxChars > 0 && estimate.Chars > p.cfg.JobMaxChars {
		return nil, fault.Permanent(fmt.Errorf("%w: the article would bill up to %d characters, over the cap of %d per job", ErrBudget, estimate.Chars, p.cfg.JobMaxChars))
	}
	if err := p.Queue.Blobs().PutJSON(ctx, planBlob(t), chunks); err != nil {
		return nil, err
	}
	next := make([]queue.Message, len(chunks))
	before := 0
	for i, ch := range chunks {
		n := utf8.RuneCountInString(ch.Text)
		if err := p.Queue.Jobs().PutChunk(ctx, t.Job, t.Rev, queue.Chunk{Index: i, State: queue.ChunkPending, Chars: n}); err != nil {
			return nil, err
		}
		next[i] = t.synthTask(i, j.Options.Provider, before)
		before += n
	}
	if _, err := p.finish(ctx, t, StageChunk, func(j *queue.Job) {
		j.Chunks, j.Estimate, j.EstimateHeard = len(chunks), estimate.Chars, estimate.HeardSeconds
		if lex != nil {
			j.Lexicon = lex.Version()
		}
		j.Stage = StageSynth
		j.Timings[StageSynth] = queue.Timing{Start: time.Now().UTC()}
	}); err != nil {
		return nil, err
	}
	return next, nil
}

func (p *Pipeline) synthStage(ctx context.Context, provider string) error {
	s := stage(synthStage(provider), p, func(ctx context.Context, t Task) ([]queue.Message, error) {
		return p.synth(ctx, t, p.Synths[provider])
	})
	s.MaxDeliver = 10 // a provider's outage of several minutes is ridden out
	return queue.Run(ctx, p.Queue, s)
}

// synth synthesizes one chunk, checks its audio and, when it completes the
// set, starts the stitch.
func (p *Pipeline) synth(ctx context.Context, t Task, sy *synth.Synthesizer) ([]queue.Message, error) {
	j, err := p.current(ctx, t)
	if err != nil {
		return nil, err
	}
	var plan []script.Chunk
	if err := p.Queue.Blobs().GetJSON(ctx, planBlob(t), &plan); err != nil {
		return nil, err
	}
	if t.Chunk < 0 || t.Chunk >= len(plan) {
		return nil, fault.Permanent(fmt.Errorf("synth: chunk %d of a %d-chunk plan", t.Chunk, len(plan)))
	}
	ch := plan[t.Chunk]
	st := queue.Chunk{Index: t.Chunk, State: queue.ChunkWorking, Chars: utf8.RuneCountInString(ch.Text), Attempts: queue.Delivery(ctx), Start: time.Now().UTC()}
	if err := p.Queue.Jobs().PutChunk(ctx, t.Job, t.Rev, st); err != nil {
		return nil, err
	}
	// The article's own choices win, then its publication's; the provider
	// fills in the rest (its voice for the article's language).
	pub := p.cfg.Publications[pubKey(j.Options.Publication)]
	req := synth.Request{
		Text:         ch.Text,
		Voice:        cmp.Or(j.Options.Voice, pub.Voice),
		Model:        cmp.Or(j.Options.Model, pub.Model),
		Speed:        cmp.Or(j.Options.Speed, pub.Speed),
		Instructions: cmp.Or(j.Options.Instructions, pub.Instructions),
		Language:     j.Language,
		Listen:       synth.ListenPolicy(pub.Listen),
	}
	day := time.Now()
	reserved, err := p.reserveBudget(ctx, sy, req, j, day)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	// The chunk check inside synthesis takes a CPU slot by the job's priority.
	res, err := sy.Synthesize(withCPU(ctx, p, j.Priority), req)
	observeSynth(sy.Provider().Name(), res, err, time.Since(began))
	p.recordUsage(context.WithoutCancel(ctx), t, sy, req, j, day, reserved, res)
	if err != nil {
		st.Error = err.Error()
		_ = p.Queue.Jobs().PutChunk(ctx, t.Job, t.Rev, st)
		err = fmt.Errorf("chunk %d: %w", t.Chunk, err)
		if synth.NeedsOperator(err) {
			err = fault.Halt(err)
		}
		return nil, err
	}
	v := res.Verdict
	if v.Record == nil {
		// A synthesizer made without the pipeline's check: check here.
		if v, err = p.cfg.checkChunk(withCPU(ctx, p, j.Priority), res.Audio, res.Request, sy.Provider().Limits().Format); err != nil {
			// Bad audio is not kept: the retry asks the provider again.
			_ = p.Audio.Delete(ctx, res.Key)
			st.Error = err.Error()
			_ = p.Queue.Jobs().PutChunk(ctx, t.Job, t.Rev, st)
			return nil, fault.Retry(fmt.Errorf("chunk %d: %w", t.Chunk, err), 0)
		}
		res.Verdict = v
	}
	var check stitch.ChunkCheck
	if err := json.Unmarshal(v.Record, &check); err != nil {
		return nil, fmt.Errorf("chunk %d: its check: %w", t.Chunk, err)
	}
	check.Leveled = res.Leveled
	analysis, err := json.Marshal(check)
	if err != nil {
		return nil, err
	}
	// Heuristic findings do not fail the chunk: the job carries them.
	if err := p.warn(ctx, t, chunkWarnings(t.Chunk, res)); err != nil {
		return nil, err
	}
	st.State, st.Audio, st.CacheHit, st.BilledChars = queue.ChunkDone, res.Key, res.Cached, res.Billed
	st.Voice, st.Model, st.Speed = res.Request.Voice, res.Request.Model, res.Request.Speed
	st.Analysis, st.Error, st.End = analysis, "", time.Now().UTC()
	if err := p.Queue.Jobs().PutChunk(ctx, t.Job, t.Rev, st); err != nil {
		return nil, err
	}
	var next []queue.Message
	if t.Chunk == 0 {
		if next, err = p.startedAudio(ctx, t); err != nil {
			return nil, err
		}
	}

	// Fan-in: whoever records the last chunk starts the stitch. Two workers
	// finishing together may both see the set complete; the stitch task's
	// de-duplication id lets only one through.
	all, err := p.Queue.Jobs().Chunks(ctx, t.Job, t.Rev)
	if err != nil {
		return nil, err
	}
	done := 0
	for _, c := range all {
		if c.State == queue.ChunkDone {
			done++
		}
	}
	p.emit(ctx, queue.Event{Job: t.Job, Rev: t.Rev, Kind: queue.EventChunkDone, Stage: StageSynth, Chunk: t.Chunk, Chunks: j.Chunks, Done: done})
	if done < j.Chunks {
		return next, nil
	}
	t.Chunk = 0
	return append(next, t.to(StageStitch)), nil
}

// BudgetCounter names a publication's daily counter of characters billed
// or reserved (queue.Jobs.Usage): synthesis characters, and recognition
// as the characters that cost the same.
func BudgetCounter(pub string) string { return "publication." + pubKey(pub) }

// HeardCounter names a publication's daily counter of seconds heard by the
// listening check.
func HeardCounter(pub string) string { return "heard." + pubKey(pub) }

// ErrBudget is the cause of jobs that would bill more than allowed.
var ErrBudget = errors.New("over budget")

// reserveBudget takes the characters a chunk needs from its publication's
// budget for the day, before any API call, and returns how many it took;
// a chunk that would pass the budget fails. The reservation is atomic
// across the cluster, so chunks synthesized at once cannot together pass
// the budget. A chunk in the cache costs nothing and takes nothing. When
// the chunk will be heard by the listening check, its estimated
// recognition is reserved too, as the characters of synthesis that cost
// the same (synth.Synthesizer.HeardChars), so that the budget bounds
// what the day costs.
func (p *Pipeline) reserveBudget(ctx context.Context, sy *synth.Synthesizer, req synth.Request, j queue.Job, day time.Time) (int, error) {
	if p.cfg.DailyChars <= 0 {
		return 0, nil
	}
	key, _, err := sy.Key(req)
	if err != nil {
		return 0, err
	}
	if cached, err := p.Audio.Has(ctx, key); err == nil && cached {
		return 0, nil
	}
	pub := pubKey(j.Options.Publication)
	chars := utf8.RuneCountInString(req.Text)
	n := chars + sy.HeardChars(req, float64(synth.EstimateHeard(chars)))
	used, ok, err := p.Queue.Jobs().ReserveUsage(ctx, day, BudgetCounter(pub), n, p.cfg.DailyChars)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fault.Permanent(fmt.Errorf("%w: publication %s has billed or reserved %d of its %d characters today; this chunk needs %d more",
			ErrBudget, pub, used, p.cfg.DailyChars, n))
	}
	return n, nil
}

// recordUsage records what a chunk's requests billed (see bill):
// synthesis characters under the provider, and recognition seconds under
// queue.ListenBilling (billed by the second, each request rounded up).
// It settles the publication's reservation: the difference is given back
// (all of it when the call failed or came from the cache). A worker that
// dies between the two leaves its reservation counted, erring on the
// budget's side.
func (p *Pipeline) recordUsage(ctx context.Context, t Task, sy *synth.Synthesizer, req synth.Request, j queue.Job, day time.Time, reserved int, res synth.Result) {
	if res.Billed > 0 {
		p.bill(ctx, queue.Billing{ID: queue.NewBillingID(), Provider: sy.Provider().Name(),
			Job: t.Job, Rev: t.Rev, Chunk: t.Chunk, Chars: res.Billed, Time: time.Now()})
	}
	pub := pubKey(j.Options.Publication)
	heard := int(math.Ceil(res.HeardSeconds))
	if heard > 0 {
		p.bill(ctx, queue.Billing{ID: queue.NewBillingID(), Provider: queue.ListenBilling,
			Job: t.Job, Rev: t.Rev, Chunk: t.Chunk, Chars: heard, Time: time.Now()})
		// In its own unit, beside the publication's characters.
		if err := p.Queue.Jobs().AddUsage(ctx, day, heard, HeardCounter(pub)); err != nil {
			p.Logger.Warn("count the publication's heard seconds", "job_id", t.Job, "err", err)
		}
	}
	if d := res.Billed + sy.HeardChars(req, float64(heard)) - reserved; d != 0 {
		if err := p.Queue.Jobs().AddUsage(ctx, day, d, BudgetCounter(pub)); err != nil {
			p.Logger.Warn("settle the publication's budget", "job_id", t.Job, "err", err)
		}
	}
}

// stitchConfig is the join's configuration: the chunk check's, and the
// signer of the Content Credentials.
func (p *Pipeline) stitchConfig(speed float64) stitch.Config {
	c := p.cfg.stitchConfig(speed)
	c.Signer = p.Signer
	return c
}

func (p *Pipeline) stitchStage(ctx context.Context) error {
	return queue.Run(ctx, p.Queue, stage(StageStitch, p, p.stitch))
}

// stitch joins the chunks into the narration and validates it.
func (p *Pipeline) stitch(ctx context.Context, t Task) ([]queue.Message, error) {
	j, err := p.begin(ctx, t, StageStitch)
	if err != nil {
		return nil, err
	}
	var s script.Script
	if err := p.Queue.Blobs().GetJSON(ctx, scriptBlob(t), &s); err != nil {
		return nil, err
	}
	var plan []script.Chunk
	if err := p.Queue.Blobs().GetJSON(ctx, planBlob(t), &plan); err != nil {
		return nil, err
	}
	statuses, err := p.Queue.Jobs().Chunks(ctx, t.Job, t.Rev)
	if err != nil {
		return nil, err
	}
	if len(statuses) != len(plan) {
		return nil, fmt.Errorf("stitch: %d of %d chunks recorded", len(statuses), len(plan))
	}
	inputs := make([]stitch.Input, len(plan))
	var synthEnd time.Time
	for i, st := range statuses {
		if st.State != queue.ChunkDone {
			return nil, fmt.Errorf("stitch: chunk %d is %s", i, st.State)
		}
		var check stitch.ChunkCheck
		if err := json.Unmarshal(st.Analysis, &check); err != nil {
			return nil, fault.Permanent(fmt.Errorf("stitch: chunk %d analysis: %w", i, err))
		}
		audio := st.Audio
		inputs[i] = stitch.Input{
			Chunk: plan[i],
			Check: &check,
			Open:  func(ctx context.Context) (io.ReadCloser, error) { return p.Audio.Open(ctx, audio) },
		}
		if st.End.After(synthEnd) {
			synthEnd = st.End
		}
	}
	// Every request billed for the revision counts, retries included.
	billed, err := p.Queue.Jobs().JobBilled(ctx, j.Options.Provider, t.Job, t.Rev)
	if err != nil {
		return nil, err
	}
	heard, err := p.Queue.Jobs().JobBilled(ctx, queue.ListenBilling, t.Job, t.Rev)
	if err != nil {
		return nil, err
	}
	meta := stitch.MetadataFromScript(s)
	// Chunks are read with one voice; the first says which.
	voice := statuses[0]
	meta.Provider, meta.Model, meta.Voice = j.Options.Provider, voice.Model, voice.Voice
	meta.Disclosure = p.cfg.Disclosure
	if j.Options.Section != "" {
		meta.Section = j.Options.Section
	}
	if j.Options.Publication != "" {
		meta.Publication = j.Options.Publication
	}

	meta.Created = j.Submitted
	if p.cfg.NoTextHash {
		meta.TextSHA256 = nil
	}

	// The narration is joined into a temporary file, whose head (the LAME
	// tag's CRC, the Content Credentials) is finished once the audio is
	// written, then uploaded and hashed for the published key.
	f, err := os.CreateTemp("", "narrator-stitch-*.mp3")
	if err != nil {
		return nil, fmt.Errorf("stitch: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	var res *stitch.Result
	if cerr := p.onCPU(ctx, j.Priority, func() { res, err = stitch.Stitch(ctx, f, inputs, meta, p.stitchConfig(voice.Speed)) }); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		if redo, rerr := p.resynthesizeSpoilt(ctx, t, j, plan, statuses); rerr != nil || redo != nil {
			return redo, rerr
		}
		return nil, err
	}
	// Hashed first and uploaded from a reader that seeks, so that an upload
	// cut off by NATS failing over is repeated from the start.
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, res.Bytes)); err != nil {
		return nil, fmt.Errorf("stitch: %w", err)
	}
	if _, err := p.Queue.Blobs().Put(ctx, outputBlob(t), io.NewSectionReader(f, 0, res.Bytes)); err != nil {
		return nil, err
	}
	out := stitchOutput{Result: res, SHA256: hex.EncodeToString(h.Sum(nil)), Voice: voice.Voice, Model: voice.Model}
	if err := p.Queue.Blobs().PutJSON(ctx, resultBlob(t), out); err != nil {
		return nil, err
	}
	if _, err := p.finish(ctx, t, StageStitch, func(j *queue.Job) {
		j.BilledChars, j.HeardSeconds = billed, heard
		j.AddWarnings(joinWarnings(res.Report)...)
		if tm := j.Timings[StageSynth]; !synthEnd.IsZero() {
			tm.End = synthEnd
			j.Timings[StageSynth] = tm
		}
	}); err != nil {
		return nil, err
	}
	return []queue.Message{t.to(StagePublish)}, nil
}

// maxRedo bounds how many times one revision's spoilt chunks are sent
// back to synthesis.
const maxRedo = 3

// resynthesizeSpoilt looks, once a join has failed, for chunks whose
// stored audio is gone (evicted since) or reads back spoilt (its bytes no
// longer match their digest, as seen after a NATS node was lost; reading
// one removes it, see AudioCache). Those are sent back to synthesis, whose
// last chunk starts the stitch again: the job waits for them rather than
// failing. It returns no task when every chunk reads back whole, and the
// join's own error stands.
func (p *Pipeline) resynthesizeSpoilt(ctx context.Context, t Task, j queue.Job, plan []script.Chunk, statuses []queue.Chunk) ([]queue.Message, error) {
	var spoilt []int
	for i, st := range statuses {
		_, err := p.Audio.Get(ctx, st.Audio)
		switch {
		case errors.Is(err, synth.ErrNotCached):
			spoilt = append(spoilt, i)
		case err != nil:
			return nil, err
		}
	}
	if len(spoilt) == 0 {
		return nil, nil
	}
	if t.Redo >= maxRedo {
		return nil, fault.Permanent(fmt.Errorf("stitch: the stored audio of chunks %v was spoilt or gone again, after %d syntheses of them", spoilt, t.Redo+1))
	}
	if _, err := p.begin(ctx, t, StageSynth); err != nil {
		return nil, err
	}
	var next []queue.Message
	for _, i := range spoilt {
		if err := p.Queue.Jobs().PutChunk(ctx, t.Job, t.Rev, queue.Chunk{Index: i, State: queue.ChunkPending, Chars: statuses[i].Chars}); err != nil {
			return nil, err
		}
		before := 0
		for _, ch := range plan[:i] {
			before += utf8.RuneCountInString(ch.Text)
		}
		redo := t
		redo.Redo++
		next = append(next, redo.synthTask(i, j.Options.Provider, before))
	}
	p.Logger.Warn("stitch: chunk audio spoilt or gone; synthesizing it again", "job_id", t.Job, "revision", t.Rev, "chunks", spoilt)
	p.emit(ctx, queue.Event{Job: t.Job, Rev: t.Rev, Kind: queue.EventRetry, Stage: StageStitch,
		Message: fmt.Sprintf("the stored audio of chunks %v was spoilt or gone; synthesizing them again", spoilt)})
	return next, nil
}

// credentials is the manifest store of a stitched file, if it has one.
func credentials(r *stitch.Result) []byte {
	if r == nil || r.Credentials == nil {
		return nil
	}
	return r.Credentials.Store
}

// stitchOutput is what the stitch stage hands to publish.
type stitchOutput struct {
	*stitch.Result
	SHA256 string `json:"sha256"`
	Voice  string `json:"voice"`
	Model  string `json:"model"`
}

func (p *Pipeline) publishStage(ctx context.Context) error {
	return queue.Run(ctx, p.Queue, stage(StagePublish, p, p.publish))
}

// publish uploads the narration, its transcript, chapters and manifest,
// and asks for the feeds to be rebuilt.
func (p *Pipeline) publish(ctx context.Context, t Task) ([]queue.Message, error) {
	j, err := p.begin(ctx, t, StagePublish)
	if err != nil {
		return nil, err
	}
	var (
		s    script.Script
		plan []script.Chunk
		res  stitchOutput
	)
	if err := p.Queue.Blobs().GetJSON(ctx, scriptBlob(t), &s); err != nil {
		return nil, err
	}
	if err := p.Queue.Blobs().GetJSON(ctx, planBlob(t), &plan); err != nil {
		return nil, err
	}
	if err := p.Queue.Blobs().GetJSON(ctx, resultBlob(t), &res); err != nil {
		return nil, err
	}
	heard, err := p.heardWords(ctx, t)
	if err != nil {
		return nil, err
	}
	audio, err := p.Queue.Blobs().Open(ctx, outputBlob(t))
	if err != nil {
		return nil, err
	}
	defer audio.Close()
	pub, err := p.Publisher.Publish(ctx, publish.Narration{
		ArticleID:   j.ArticleID,
		Key:         j.ID,
		Script:      s,
		Chunks:      plan,
		Heard:       heard,
		Result:      res.Result,
		Audio:       audio,
		Size:        res.Bytes,
		SHA256:      res.SHA256,
		Provider:    j.Options.Provider,
		Model:       res.Model,
		Voice:       res.Voice,
		Section:     j.Options.Section,
		Author:      j.Options.Author,
		Publication: j.Options.Publication,
		Created:     j.Submitted,
		Credentials: credentials(res.Result),
	})
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	out := &queue.Output{
		Key: pub.Audio.Key, URL: pub.Audio.URL, Bytes: res.Bytes, Duration: res.Duration,
		SHA256: res.SHA256, Loudness: res.Loudness, Level: level(res.Report.Loudness), Files: pub.URLs(),
	}
	done, err := p.finish(ctx, t, StagePublish, func(j *queue.Job) {
		j.State, j.Stage, j.Output = queue.Done, StagePublish, out
	})
	if err != nil {
		return nil, err
	}
	p.emit(ctx, queue.Event{Job: t.Job, Rev: t.Rev, Kind: queue.EventDone, Message: out.URL})
	// The stitched file is published: NATS need not keep its megabytes for
	// the week work blobs live (at a backfill's pace, terabytes).
	if err := p.Queue.Blobs().Delete(ctx, outputBlob(t)); err != nil {
		p.Logger.Warn("delete the published stitched file from NATS", "job_id", t.Job, "err", err)
	}
	return append([]queue.Message{feedTask(t, "publish")}, p.notify(done, webhook.Completed)...), nil
}

// heardWords returns the times the listening check heard each chunk's
// words at, kept beside the chunk's audio (nil for a chunk without them).
func (p *Pipeline) heardWords(ctx context.Context, t Task) ([][]publish.WordTime, error) {
	statuses, err := p.Queue.Jobs().Chunks(ctx, t.Job, t.Rev)
	if err != nil {
		return nil, err
	}
	out := make([][]publish.WordTime, len(statuses))
	for i, st := range statuses {
		if st.Audio == "" {
			continue
		}
		h, err := synth.LoadHeard(ctx, p.Audio, st.Audio)
		if err != nil {
			return nil, err
		}
		if h == nil {
			continue
		}
		for _, w := range h.Words {
			out[i] = append(out[i], publish.WordTime{Start: w.Start, End: w.End, From: w.From, To: w.To, Heard: w.Heard})
		}
	}
	return out, nil
}

// feedTask asks for the feeds to be rebuilt after a change to a job.
func feedTask(t Task, why string) queue.Message {
	return queue.Message{Stage: StageFeed, ID: fmt.Sprintf("feed-%s-%s-%d-%d", why, t.Job, t.Rev, time.Now().UnixNano()), Data: t}
}

func (p *Pipeline) feedStage(ctx context.Context) error {
	s := stage(StageFeed, p, func(ctx context.Context, t Task) ([]queue.Message, error) {
		return nil, p.rebuildFeeds(ctx)
	})
	// The feeds are rebuilt from what is published, one rebuild at a time
	// across the cluster, so that a slower rebuild never overwrites a
	// newer one with an older listing.
	s.MaxAckPending = 1
	s.Fail = func(ctx context.Context, t Task, err error) error {
		p.Logger.Error("feeds not rebuilt; the next publish or 'narrator feeds rebuild' will", "job_id", t.Job, "err", err)
		return nil
	}
	return queue.Run(ctx, p.Queue, s)
}

// rebuiltKey names, in the settings bucket, the mark of the last rebuild.
const rebuiltKey = "feeds-rebuilt"

// rebuilt marks a finished feed rebuild: every task published at or below
// Seq (queue.Sequence) was published before it began to list what is
// published, so the rebuild covered it.
type rebuilt struct {
	Seq   uint64        `json:"seq"`
	Took  time.Duration `json:"took_ns"`
	Ended time.Time     `json:"ended"`
}

const (
	// feedSpacing times the last rebuild's length is the least time
	// between the end of one rebuild and the start of the next...
	feedSpacing = 3
	// ...but never more than this, so feeds stay at most about a minute
	// behind what is published.
	maxFeedPause = time.Minute
)

// rebuildFeeds rebuilds the feeds for one feed task, unless a rebuild that
// began after the task was published has already covered it. A rebuild
// reads every published narration, so it costs more as the archive grows;
// publishing faster than rebuilds run would otherwise queue a rebuild per
// article, each longer than the last. Instead the tasks that arrive during
// a rebuild are all covered by the next one, and the next one waits
// feedSpacing times the last one's length after it, so rebuilding takes at
// most a quarter of the feed stage's time, whatever the publishing rate.
func (p *Pipeline) rebuildFeeds(ctx context.Context) error {
	docs := p.Queue.Settings()
	var last rebuilt
	switch data, err := docs.Get(ctx, rebuiltKey); {
	case errors.Is(err, queue.ErrNoDoc):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(data, &last); err != nil {
			p.Logger.Warn("feeds: unreadable mark of the last rebuild; rebuilding", "err", err)
			last = rebuilt{}
		}
	}
	if seq := queue.Sequence(ctx); seq != 0 && seq <= last.Seq {
		return nil
	}
	if wait := min(time.Until(last.Ended.Add(feedSpacing*last.Took)), maxFeedPause); wait > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	seq, err := p.Queue.LastSequence(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	if _, err := p.Publisher.RebuildFeeds(ctx); err != nil {
		return err
	}
	mark, err := json.Marshal(rebuilt{Seq: seq, Took: time.Since(start), Ended: time.Now()})
	if err != nil {
		return err
	}
	_, err = docs.Update(ctx, rebuiltKey, func(old []byte) ([]byte, error) {
		var o rebuilt
		if old != nil && json.Unmarshal(old, &o) == nil && o.Seq > seq {
			return old, nil // a later rebuild finished first
		}
		return mark, nil
	})
	return err
}
