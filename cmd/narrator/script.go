package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/chunk"
	"github.com/narrator-project/narrator/services/clean"
	"github.com/narrator-project/narrator/services/ingest"
	"github.com/narrator-project/narrator/services/lexicon"
	"github.com/narrator-project/narrator/services/normalize"
	"github.com/narrator-project/narrator/services/script"
)

func init() {
	register(&command{Name: "script", Summary: "print the narration script and chunks of an article", Run: runScript})
}

// scriptOutput is what `narrator script --json` prints.
type scriptOutput struct {
	Title          string             `json:"title"`
	Standfirst     string             `json:"standfirst,omitempty"`
	Byline         string             `json:"byline"`
	Published      *time.Time         `json:"published,omitempty"`
	Language       string             `json:"language,omitempty"`
	URL            string             `json:"url,omitempty"`
	Paragraphs     []string           `json:"paragraphs"`
	Sections       []script.Section   `json:"sections"`
	Chunks         []scriptChunk      `json:"chunks"`
	Unknown        []lexicon.Unknown  `json:"unknown_words"`
	LexiconVersion string             `json:"lexicon_version"`
	Limits         map[string]float64 `json:"limits"`
}

type scriptChunk struct {
	ID      string       `json:"id"`
	Index   int          `json:"index"`
	Text    string       `json:"text"`
	Chars   int          `json:"chars"`
	Break   script.Break `json:"break,omitempty"`
	Section int          `json:"section"`
}

func runScript(ctx context.Context, args []string, sio stdio) error {
	fs := newFlags("script", "[flags] FILE|URL|-", sio)
	asJSON := fs.Bool("json", false, "print JSON: title, byline, paragraphs, chunks and more")
	fetchAllow := fs.String("fetch-allow", env("NARRATOR_FETCH_ALLOW", ""), "hosts and networks (CIDR) URLs may be fetched from although not public (env NARRATOR_FETCH_ALLOW)")
	maxChars := fs.Int("max", chunk.MaxOpenAI, "most characters in one chunk (OpenAI 4096, Polly 3000)")
	target := fs.Int("target", chunk.DefaultTarget, "chunk size to aim at, in characters")
	light := fs.Bool("light", false, "light normalization, for a provider that reads numbers well itself")
	lang := fs.String("lang", "", "language of the text (en, uk); default: detected")
	lexPath := fs.String("lexicon", "", "pronunciation lexicon JSON file")
	sitesPath := fs.String("sites", "", "per-site extraction rules JSON file")
	captions := fs.Bool("captions", false, "read image captions and alt text")
	contentType := fs.String("type", "", "content type of the input (text/html, text/plain, text/markdown); default: sniffed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"want one FILE, URL or - for standard input"}
	}
	ccfg := clean.Config{KeepCaptions: *captions}
	if *sitesPath != "" {
		f, err := os.Open(*sitesPath)
		if err != nil {
			return err
		}
		ccfg.Sites, err = clean.LoadSites(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	var lex *lexicon.Lexicon
	if *lexPath != "" {
		f, err := os.Open(*lexPath)
		if err != nil {
			return err
		}
		lex, err = lexicon.Decode(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("lexicon %s: %w", *lexPath, err)
		}
	}
	cleaner, err := clean.New(ccfg)
	if err != nil {
		return err
	}
	chunker, err := chunk.New(chunk.Config{Max: *maxChars, Target: *target, Lexicon: lex,
		Normalize: normalize.Options{Language: *lang, Light: *light}})
	if err != nil {
		return usageError{err.Error()}
	}
	in, err := readSource(ctx, fs.Arg(0), sio.In, defaultMaxInput, *fetchAllow)
	if err != nil {
		return err
	}
	if *contentType != "" {
		in.ContentType = *contentType
	}
	s, err := cleaner.Clean(ctx, in)
	if err != nil {
		return err
	}
	if *lang != "" {
		s.Language = *lang
	}
	chunks, err := chunker.Split(s)
	if err != nil {
		return err
	}
	texts := append([]string{s.Title, s.Standfirst}, s.Paragraphs()...)
	unknown := lex.Report(texts...)
	if *asJSON {
		out := scriptOutput{
			Title: s.Title, Standfirst: s.Standfirst, Byline: s.Byline, Language: s.Language, URL: s.URL,
			Paragraphs: s.Paragraphs(), Sections: s.Sections, Unknown: unknown, LexiconVersion: lex.Version(),
			Limits: map[string]float64{"max": float64(*maxChars), "target": float64(*target)},
		}
		if !s.Published.IsZero() {
			out.Published = &s.Published
		}
		if out.Paragraphs == nil {
			out.Paragraphs = []string{}
		}
		for _, c := range chunks {
			out.Chunks = append(out.Chunks, scriptChunk{ID: c.ID, Index: c.Index, Text: c.Text,
				Chars: utf8.RuneCountInString(c.Text), Break: c.Break, Section: c.Section})
		}
		if out.Unknown == nil {
			out.Unknown = []lexicon.Unknown{}
		}
		enc := json.NewEncoder(sio.Out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	}
	printScript(sio.Out, s, chunks, unknown)
	return nil
}

// printScript writes the script and its chunks for an editor to read.
func printScript(w io.Writer, s script.Script, chunks []script.Chunk, unknown []lexicon.Unknown) {
	fmt.Fprintf(w, "# %s\n", s.Title)
	if s.Standfirst != "" {
		fmt.Fprintf(w, "\n%s\n", s.Standfirst)
	}
	if s.Byline != "" {
		fmt.Fprintf(w, "\n%s\n", s.Byline)
	}
	var meta []string
	if !s.Published.IsZero() {
		meta = append(meta, "published "+s.Published.Format(time.RFC3339))
	}
	if s.Language != "" {
		meta = append(meta, "language "+s.Language)
	}
	meta = append(meta, fmt.Sprintf("%d characters", s.Chars()))
	fmt.Fprintf(w, "(%s)\n", strings.Join(meta, ", "))
	for _, sec := range s.Sections {
		if sec.Heading != "" {
			fmt.Fprintf(w, "\n## %s\n", sec.Heading)
		}
		for _, b := range sec.Blocks {
			switch b.Kind {
			case script.Quote:
				fmt.Fprintf(w, "\n> %s\n", b.Text)
			case script.ListItem:
				fmt.Fprintf(w, "\n- %s\n", b.Text)
			default:
				fmt.Fprintf(w, "\n%s\n", b.Text)
			}
		}
	}
	fmt.Fprintf(w, "\n---\n%d chunks, as sent to the speech engine:\n", len(chunks))
	for _, c := range chunks {
		brk := string(c.Break)
		if brk == "" {
			brk = "none"
		}
		sec := fmt.Sprint(c.Section)
		if c.Section < 0 {
			sec = "title"
		}
		fmt.Fprintf(w, "\n[%d] %d characters, section %s, pause before: %s, id %s\n%s\n",
			c.Index+1, utf8.RuneCountInString(c.Text), sec, brk, c.ID[:12], c.Text)
	}
	if len(unknown) > 0 {
		fmt.Fprintf(w, "\n---\nNames and acronyms the lexicon does not know:\n")
		for _, u := range unknown {
			fmt.Fprintf(w, "  %-24s %-8s %d×  %s\n", u.Word, u.Kind, u.Count, u.Context)
		}
	}
}

// defaultMaxInput bounds what is read from a file, URL or standard input;
// the cleaner has its own, equal, limit and says so in words.
const defaultMaxInput = 5 << 20

// readSource reads the document named by arg: a URL, "-" for standard
// input, or a file path.
func readSource(ctx context.Context, arg string, stdin io.Reader, limit int64, allow string) (clean.Input, error) {
	if u, err := url.Parse(arg); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		guard, err := ingest.NewGuard(ingest.GuardConfig{Allow: splitList(allow)})
		if err != nil {
			return clean.Input{}, usageError{err.Error()}
		}
		page, err := ingest.New(ingest.Config{MaxBytes: limit, Guard: guard}).Fetch(ctx, arg)
		if err != nil {
			return clean.Input{}, err
		}
		return clean.Input{Body: page.Body, ContentType: page.ContentType, URL: page.URL}, nil
	}
	var r io.Reader
	name := arg
	if arg == "-" {
		r, name = stdin, ""
	} else {
		f, err := os.Open(arg)
		if err != nil {
			return clean.Input{}, err
		}
		defer f.Close()
		r = f
	}
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return clean.Input{}, fmt.Errorf("read %s: %w", arg, err)
	}
	// The cleaner sniffs the type; a file name's extension helps it tell
	// Markdown from plain text.
	in := clean.Input{Body: body}
	if name != "" {
		in.URL = (&url.URL{Scheme: "file", Path: name}).String()
	}
	return in, nil
}
