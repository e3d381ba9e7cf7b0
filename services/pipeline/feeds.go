package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/ingest"
	"github.com/narrator-project/narrator/services/publish"
)

// FeedSettings are the publications' podcast settings, kept in NATS so
// that every process and every rebuild uses the same; it implements
// publish.Settings.
type FeedSettings struct{ d *queue.Docs }

// Feeds returns the feed settings kept in NATS.
func Feeds(q *queue.Queue) FeedSettings { return FeedSettings{q.Settings()} }

func feedKey(publication string) string { return "feed." + publication }

// FeedSettings returns the settings stored for a publication key
// (publish.PublicationKey), or publish.ErrNoSettings.
func (s FeedSettings) FeedSettings(ctx context.Context, key string) (publish.Feed, error) {
	data, err := s.d.Get(ctx, feedKey(key))
	if errors.Is(err, queue.ErrNoDoc) {
		return publish.Feed{}, publish.ErrNoSettings
	}
	if err != nil {
		return publish.Feed{}, err
	}
	var f publish.Feed
	if err := json.Unmarshal(data, &f); err != nil {
		return publish.Feed{}, fmt.Errorf("pipeline: feed settings of %s: %w", key, err)
	}
	return f, nil
}

// Seed stores f as a publication's settings only if none are stored, and
// reports whether it did: configuration from the environment seeds the
// shared settings once, and never overwrites what editors set since.
func (s FeedSettings) Seed(ctx context.Context, publication string, f publish.Feed) (bool, error) {
	if err := f.Validate(); err != nil {
		return false, fmt.Errorf("%w: feed settings: %w", ErrBadRequest, err)
	}
	data, err := json.Marshal(f)
	if err != nil {
		return false, err
	}
	err = s.d.Create(ctx, feedKey(publish.PublicationKey(publication)), data, 0)
	if errors.Is(err, queue.ErrDocExists) {
		return false, nil
	}
	return err == nil, err
}

// SaveFeedSettings replaces a publication's feed settings (a name, or ""
// for the default publication) and queues a rebuild of the feeds, so the
// change is published at once. Artwork is fetched with fetch and checked
// whenever its URL changes; settings that would make a broken feed are
// refused with ErrBadRequest and what is wrong.
func (p *Pipeline) SaveFeedSettings(ctx context.Context, publication string, f publish.Feed, fetch publish.FetchFunc) (publish.Feed, error) {
	if err := f.Validate(); err != nil {
		return f, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	key := publish.PublicationKey(publication)
	store := Feeds(p.Queue)
	old, err := store.FeedSettings(ctx, key)
	if err != nil && !errors.Is(err, publish.ErrNoSettings) {
		return f, err
	}
	if f.Image != "" && f.Image != old.Image {
		if fetch == nil {
			return f, fmt.Errorf("%w: artwork cannot be checked here", ErrBadRequest)
		}
		data, err := fetch(ctx, f.Image)
		if err != nil {
			return f, fmt.Errorf("%w: artwork %s cannot be fetched: %w", ErrBadRequest, f.Image, err)
		}
		if _, err := publish.CheckArtwork(data); err != nil {
			return f, fmt.Errorf("%w: artwork %s: %w", ErrBadRequest, f.Image, err)
		}
	}
	data, err := json.Marshal(f)
	if err != nil {
		return f, err
	}
	if _, err := store.d.Update(ctx, feedKey(key), func([]byte) ([]byte, error) { return data, nil }); err != nil {
		return f, err
	}
	return f, p.Queue.Publish(ctx, feedTask(Task{Job: "settings-" + key}, "settings"))
}

// ArtworkFetcher fetches podcast artwork through the guard: public
// addresses (and those allow-listed) only, JPEG or PNG, at most 10 MiB.
func ArtworkFetcher(guard *ingest.Guard) publish.FetchFunc {
	f := ingest.New(ingest.Config{Guard: guard, Timeout: 20 * time.Second, Types: []string{"image/jpeg", "image/png"}})
	return func(ctx context.Context, url string) ([]byte, error) {
		page, err := f.Fetch(ctx, url)
		return page.Body, err
	}
}

// RecordRewritten puts the new URLs of narrations whose published URLs
// moved (publish.Publisher.RewriteURLs) into their jobs' output, so the
// API and the dashboard name the same files as the feeds.
func RecordRewritten(ctx context.Context, q *queue.Queue, moved []publish.Rewritten) error {
	for _, m := range moved {
		_, err := q.Jobs().Update(ctx, m.Key, func(j *queue.Job) error {
			if j.Output == nil || j.Output.Key != m.Published.Audio.Key {
				return queue.ErrSkip // another narration of it since
			}
			j.Output.URL, j.Output.Files = m.Published.Audio.URL, m.Published.URLs()
			return nil
		})
		if err != nil && !errors.Is(err, queue.ErrNoJob) {
			return fmt.Errorf("pipeline: record the new URLs of %s: %w", m.Key, err)
		}
	}
	return nil
}
