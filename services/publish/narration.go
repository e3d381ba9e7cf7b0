package publish

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/stitch"
)

// Narration is a finished narration to publish.
type Narration struct {
	// ArticleID is the article's stable id in the CMS: the feed item's
	// guid, the same for every narration of the article.
	ArticleID string
	// Key names the narration's folder: [A-Za-z0-9_-], the same for every
	// narration of the article (KeyFor derives one from ArticleID).
	Key    string
	Script script.Script
	// Chunks are the chunks in the order they were joined.
	Chunks []script.Chunk
	// Heard are the times speech recognition heard each chunk's words at,
	// one list per chunk (nil where none), from the listening check: the
	// transcript, paragraphs and the player's read-along follow them.
	Heard [][]WordTime
	// Result is the stitcher's account of the joined file.
	Result *stitch.Result
	// Audio yields the MP3: Size bytes whose SHA-256 is SHA256 (hex).
	Audio  io.Reader
	Size   int64
	SHA256 string
	// Provider, Model and Voice name the speech that read it.
	Provider, Model, Voice string
	// Section and Author place the narration in per-section and
	// per-author feeds; Author defaults to the byline without "By ".
	Section, Author string
	// Publication is the publication the job was made for, if it named
	// one: the narration is listed in that publication's feed too, and the
	// name replaces the site name the cleaner found.
	Publication string
	// Created is when the narration was made; it orders re-narrations.
	Created time.Time
	// Credentials is the C2PA manifest store embedded in the MP3, if any:
	// it is published beside it as a sidecar .c2pa file too.
	Credentials []byte
}

// Published tells where a narration's files went.
type Published struct {
	Manifest File
	Audio    File
	// Transcript is WebVTT, Chapters Podcasting 2.0 JSON chapters.
	Transcript File
	Chapters   File
	// Page is the static player page, when Config.Pages is set.
	Page File
	// Credentials is the sidecar C2PA manifest store, when the MP3 has one.
	Credentials File
	// Player is the URL of the player page, if known.
	Player string
}

// URLs returns the published files' URLs by kind: "audio", "transcript",
// "chapters", "manifest" and, when known, "player" and "credentials".
func (p Published) URLs() map[string]string {
	m := map[string]string{
		"audio":      p.Audio.URL,
		"transcript": p.Transcript.URL,
		"chapters":   p.Chapters.URL,
		"manifest":   p.Manifest.URL,
	}
	if p.Player != "" {
		m["player"] = p.Player
	}
	if p.Credentials.URL != "" {
		m["credentials"] = p.Credentials.URL
	}
	return m
}

// prepare checks the narration and builds its manifest, transcript and
// chapters, all before anything is written.
func (p *Publisher) prepare(ctx context.Context, n Narration) (*Manifest, []byte, []byte, error) {
	bad := func(format string, a ...any) error {
		return permanent(fmt.Errorf("%w: "+format, append([]any{ErrInvalidNarration}, a...)...))
	}
	switch {
	case strings.TrimSpace(n.ArticleID) == "":
		return nil, nil, nil, bad("no article id")
	case ValidKey(n.Key) != nil:
		return nil, nil, nil, permanent(fmt.Errorf("%w: %w", ErrInvalidNarration, ValidKey(n.Key)))
	case n.Result == nil:
		return nil, nil, nil, bad("no stitch result")
	case n.Audio == nil:
		return nil, nil, nil, bad("no audio")
	case len(n.SHA256) != 64 || !isHex(n.SHA256):
		return nil, nil, nil, bad("audio SHA-256 %q is not 64 hex digits", n.SHA256)
	case n.Size <= 0 || n.Size != n.Result.Bytes:
		return nil, nil, nil, bad("audio size %d does not match the stitched file's %d bytes", n.Size, n.Result.Bytes)
	}
	sentences, paras, sections, err := timing(n.Chunks, n.Result.Chunks, n.Heard, n.Script)
	if err != nil {
		return nil, nil, nil, permanent(err)
	}
	created := n.Created
	if created.IsZero() {
		created = p.now()
	}
	s := n.Script
	author := oneLine(n.Author)
	if author == "" {
		author = strings.TrimSpace(strings.TrimPrefix(oneLine(s.Byline), "By "))
	}
	sha := strings.ToLower(n.SHA256)
	dir := p.dir(n.Key)
	m := &Manifest{
		Version:     ManifestVersion,
		ArticleID:   oneLine(n.ArticleID),
		Key:         n.Key,
		Title:       oneLine(s.Title),
		Byline:      oneLine(s.Byline),
		Author:      author,
		Section:     oneLine(n.Section),
		Publication: cmp.Or(oneLine(n.Publication), oneLine(s.SiteName)),
		URL:         httpURL(s.URL),
		Language:    s.Language,
		Summary:     summary(s),
		Published:   s.Published.UTC(),
		Created:     created.UTC(),
		Duration:    secs(n.Result.Duration),
		Bytes:       n.Size,
		SHA256:      sha,
		Provider:    n.Provider,
		Model:       n.Model,
		Voice:       n.Voice,
		Loudness:    n.Result.Loudness,
		Disclosure:  p.cfg.Disclosure,
		Chapters:    chapters(n.Result.Chapters),
		Sections:    sections,
		Paragraphs:  paras,
		Sentences:   sentences,
	}
	if m.Title == "" {
		m.Title = m.Key
	}
	if oneLine(n.Publication) != "" {
		m.PublicationID = PublicationKey(oneLine(n.Publication))
	}
	audioKey := dir + hashedName(sha, ".mp3")
	m.Files.Audio = File{Key: audioKey, URL: p.store.URL(audioKey), Type: "audio/mpeg", Bytes: n.Size}

	vtt := WebVTT(sentences, p.disclosure(m))
	vttKey := dir + hashedName(sha256Hex(vtt), ".vtt")
	m.Files.Transcript = File{Key: vttKey, URL: p.store.URL(vttKey), Type: "text/vtt; charset=utf-8", Bytes: int64(len(vtt))}

	feed, err := p.feedSettings(ctx, cmp.Or(m.PublicationID, DefaultPublication), oneLine(n.Publication))
	if err != nil {
		return nil, nil, nil, err
	}
	chap, err := chaptersJSON(m, feed.Title, fileName(m.Title, m.Key, ".mp3"))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("publish: chapters: %w", err)
	}
	chapKey := dir + hashedName(sha256Hex(chap), ".chapters.json")
	m.Files.Chapters = File{Key: chapKey, URL: p.store.URL(chapKey), Type: ChaptersType, Bytes: int64(len(chap))}
	if len(n.Credentials) > 0 {
		// Named after the audio it belongs to, whose hash binds it.
		key := dir + hashedName(sha, ".c2pa")
		m.Files.Credentials = File{Key: key, URL: p.store.URL(key), Type: CredentialsType, Bytes: int64(len(n.Credentials))}
	}
	return m, vtt, chap, nil
}

// disclosure is the disclosure with the speech that read the narration.
func (p *Publisher) disclosure(m *Manifest) string {
	return stitch.Disclosure(cmp.Or(m.Disclosure, p.cfg.Disclosure), m.Provider, m.Model, m.Voice)
}

func summary(s script.Script) string {
	t := oneLine(s.Standfirst)
	if t == "" {
		for _, p := range s.Paragraphs() {
			if t = oneLine(p); t != "" {
				break
			}
		}
	}
	return clip(t, 400)
}

// httpURL returns u if it is an absolute http(s) URL, else "": a feed or
// page links only to the web.
func httpURL(u string) string {
	u = strings.TrimSpace(u)
	if absoluteHTTP(u) {
		if pu, err := url.Parse(u); err == nil {
			return pu.String()
		}
	}
	return ""
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}
