package player

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"

	"github.com/narrator-project/narrator/services/publish"
)

// pageData is what the page template shows. Every string in it is plain
// text or a URL; html/template escapes each for where it lands, so titles
// and transcripts with markup are shown as written and never run.
type pageData struct {
	// Live marks the page of a narration still being made.
	Live          bool
	Lang          string
	CSP           string
	Title, Byline string
	Disclosure    string
	AudioURL      string
	ArticleURL    string
	// CredentialsURL is the audio's C2PA manifest store, if published.
	CredentialsURL string
	Download       bool
	DownloadName   string
	Duration       publish.Seconds
	DurationText   string
	DurationWords  string
	CSS, JS        string
	Chapters       []chapterView
	Paragraphs     []paragraphView
}

type chapterView struct {
	Title     string
	Start     publish.Seconds
	StartText string
}

type paragraphView struct {
	Heading, Lead bool
	Sentences     []publish.Sentence
}

// render writes the page of m. assetBase is the path from the page to the
// player's assets ("assets/" beside a page under /player/).
func (p *Player) render(m *publish.Manifest, assetBase string) ([]byte, error) {
	d := pageData{
		Lang:           m.Language,
		CSP:            p.csp(m, false),
		Title:          m.Title,
		Byline:         m.Byline,
		Disclosure:     p.cfg.Disclosure,
		AudioURL:       m.Files.Audio.URL,
		ArticleURL:     m.URL,
		CredentialsURL: m.Files.Credentials.URL,
		Download:       p.cfg.Download,
		DownloadName:   downloadName(m),
		Duration:       m.Duration,
		DurationText:   clock(m.Duration),
		DurationWords:  words(m.Duration),
		CSS:            assetBase + p.css.name,
		JS:             assetBase + p.js.name,
	}
	if d.Title == "" {
		d.Title = m.Key
	}
	for _, c := range m.Chapters {
		d.Chapters = append(d.Chapters, chapterView{Title: c.Title, Start: c.Start, StartText: clock(c.Start)})
	}
	for _, para := range m.Paragraphs {
		if para.First < 0 || para.Count < 1 || para.First+para.Count > len(m.Sentences) {
			return nil, fmt.Errorf("player: manifest of %s: paragraph %+v outside its %d sentences", m.Key, para, len(m.Sentences))
		}
		d.Paragraphs = append(d.Paragraphs, paragraphView{
			Heading:   para.Section >= 0 && para.Block < 0,
			Lead:      para.Section < 0,
			Sentences: m.Sentences[para.First : para.First+para.Count],
		})
	}
	var b bytes.Buffer
	if err := page.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("player: render %s: %w", m.Key, err)
	}
	return b.Bytes(), nil
}

// csp is the page's Content-Security-Policy: scripts and styles from the
// page's own origin only (no inline code, so no nonce is needed), audio
// from its own origin and the audio's, nothing else fetched. Framing by any
// site is allowed, since the page is made to be embedded; frame-ancestors
// works only in the header, not in the page's meta element.
func (p *Player) csp(m *publish.Manifest, header bool) string {
	media := "'self'"
	if o := origin(m.Files.Audio.URL); o != "" {
		media += " " + o
	}
	v := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src " + media +
		"; connect-src 'none'; base-uri 'none'; form-action 'none'"
	if header {
		v += "; frame-ancestors *"
	}
	return v
}

// origin returns scheme://host of an absolute http(s) URL, or "".
func origin(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(u.Host, " ;'") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func downloadName(m *publish.Manifest) string {
	var b strings.Builder
	for _, r := range m.Title {
		if r < 0x20 || strings.ContainsRune(`/\:*?"<>|`, r) {
			r = ' '
		}
		b.WriteRune(r)
	}
	name := strings.Join(strings.Fields(b.String()), " ")
	if name == "" {
		name = m.Key
	}
	return name + ".mp3"
}

// clock formats m:ss or h:mm:ss.
func clock(s publish.Seconds) string {
	t := max(int(s), 0)
	h, m, sec := t/3600, t/60%60, t%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%d:%02d", m, sec)
}

// words says a duration for screen readers.
func words(s publish.Seconds) string {
	t := max(int(s), 0)
	m, sec := t/60, t%60
	var parts []string
	if m > 0 {
		parts = append(parts, plural(m, "minute"))
	}
	if sec > 0 || m == 0 {
		parts = append(parts, plural(sec, "second"))
	}
	return strings.Join(parts, " ")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
