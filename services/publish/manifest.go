package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/narrator-project/narrator/storage"
)

// ManifestVersion is the version of the manifest's layout.
const ManifestVersion = 1

// Manifest describes one published narration: what the player page, the
// feeds and anyone else reading the store need. It is the last file a
// publish writes, so what it names is complete.
type Manifest struct {
	Version     int    `json:"version"`
	ArticleID   string `json:"article_id"` // the feed item's guid
	Key         string `json:"key"`
	Title       string `json:"title"`
	Byline      string `json:"byline,omitempty"`
	Author      string `json:"author,omitempty"`
	Section     string `json:"section,omitempty"`
	Publication string `json:"publication,omitempty"`
	// PublicationID is the key of the publication the narration was made
	// for (PublicationKey), when the job named one: its feed lists it.
	PublicationID string    `json:"publication_id,omitempty"`
	URL           string    `json:"url,omitempty"` // the article
	Language      string    `json:"language,omitempty"`
	Summary       string    `json:"summary,omitempty"`
	Published     time.Time `json:"published,omitzero"` // the article's date
	Created       time.Time `json:"created"`            // the narration's
	Duration      Seconds   `json:"duration"`
	Bytes         int64     `json:"bytes"`
	SHA256        string    `json:"sha256"`
	Provider      string    `json:"provider,omitempty"`
	Model         string    `json:"model,omitempty"`
	Voice         string    `json:"voice,omitempty"`
	Loudness      float64   `json:"loudness_lufs"`
	// Disclosure is the AI disclosure, as configured when published.
	Disclosure string `json:"disclosure"`
	Files      Files  `json:"files"`
	// Player is the URL of the embeddable player page, if known.
	Player     string        `json:"player,omitempty"`
	Chapters   []Chapter     `json:"chapters"`
	Sections   []SectionTime `json:"sections"`
	Paragraphs []Paragraph   `json:"paragraphs"`
	Sentences  []Sentence    `json:"sentences"`
}

// Files are the published files of a narration.
type Files struct {
	Audio      File `json:"audio"`
	Transcript File `json:"transcript"`
	Chapters   File `json:"chapters"`
	Page       File `json:"page,omitzero"` // the static player page, if published
	// Credentials is the MP3's C2PA manifest store as a sidecar file, if
	// the MP3 has one.
	Credentials File `json:"credentials,omitzero"`
}

// CredentialsType is the media type of a C2PA manifest store.
const CredentialsType = "application/c2pa"

// File is one published object.
type File struct {
	Key   string `json:"key"`
	URL   string `json:"url"`
	Type  string `json:"type"`
	Bytes int64  `json:"bytes"`
}

// Chapter is a chapter of the audio, as in the MP3's ID3 chapter frames.
type Chapter struct {
	Title string  `json:"title"`
	Start Seconds `json:"start"`
	End   Seconds `json:"end"`
}

// Date is the item's publication date: the article's, or the narration's
// when the article has none.
func (m *Manifest) Date() time.Time {
	if !m.Published.IsZero() {
		return m.Published
	}
	return m.Created
}

// Keys returns the keys of the files the manifest names, itself included.
func (m *Manifest) Keys(prefix string) []string {
	keys := []string{ManifestKey(prefix, m.Key)}
	for _, f := range []File{m.Files.Audio, m.Files.Transcript, m.Files.Chapters, m.Files.Credentials} {
		if f.Key != "" {
			keys = append(keys, f.Key)
		}
	}
	return keys
}

// maxManifest bounds what is read as a manifest: a long article's
// sentence timings are a few hundred kilobytes.
const maxManifest = 16 << 20

// LoadManifest reads the manifest of narration key under prefix; it wraps
// storage.ErrNotFound when the narration is not published.
func LoadManifest(ctx context.Context, st storage.Store, prefix, key string) (*Manifest, storage.Object, error) {
	if err := ValidKey(key); err != nil {
		return nil, storage.Object{}, fmt.Errorf("publish: %w: %w", storage.ErrNotFound, err)
	}
	if prefix = strings.Trim(prefix, "/"); prefix == "" {
		prefix = DefaultPrefix
	}
	return readManifest(ctx, st, ManifestKey(prefix, key))
}

func readManifest(ctx context.Context, st storage.Store, key string) (*Manifest, storage.Object, error) {
	rc, obj, err := st.Get(ctx, key)
	if err != nil {
		return nil, obj, fmt.Errorf("publish: read manifest: %w", err)
	}
	defer rc.Close()
	var m Manifest
	dec := json.NewDecoder(io.LimitReader(rc, maxManifest))
	if err := dec.Decode(&m); err != nil {
		return nil, obj, fmt.Errorf("publish: manifest %s: %w", key, err)
	}
	if m.Version != ManifestVersion || m.ArticleID == "" || ValidKey(m.Key) != nil {
		return nil, obj, fmt.Errorf("publish: manifest %s: version %d, article %q, key %q: %w", key, m.Version, m.ArticleID, m.Key, ErrBadManifest)
	}
	return &m, obj, nil
}
