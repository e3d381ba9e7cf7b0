package clean

import (
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/narrator-project/narrator/services/script"
)

// ExtractionScore is the result of the article-extraction benchmark's own
// scoring: token 4-shingle overlap between extracted and reference text,
// averaged over pages so that every page weighs the same.
type ExtractionScore struct {
	Pages     int           // pages scored
	Failed    int           // pages where extraction returned an error (scored as empty)
	Precision float64       // mean TP/(TP+FP) over pages with a prediction
	Recall    float64       // mean TP/(TP+FN) over pages with a reference
	F1        float64       // 2PR/(P+R) of the two means
	Elapsed   time.Duration // extraction time summed over pages (CPU-bound: per core), scoring excluded
}

// PagesPerSecond returns the extraction throughput of one core.
func (s ExtractionScore) PagesPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Pages) / s.Elapsed.Seconds()
}

// PageScore is one page's TP, FP and FN shingle counts scaled to sum to 1.
type PageScore struct {
	TP, FP, FN float64
}

// wordRE matches what Python's re module calls \w+ on str: letters,
// digits (of any script) and underscore. Combining marks are not word
// characters there, so they are not here either.
var wordRE = regexp.MustCompile(`[\p{L}\p{N}_]+`)

// shingles counts the overlapping 4-token shingles of a text; a text of
// one to three tokens is a single shingle, an empty one has none.
func shingles(text string) map[string]int {
	tokens := wordRE.FindAllString(text, -1)
	const n = 4
	out := map[string]int{}
	if len(tokens) == 0 {
		return out
	}
	for i := 0; i < max(1, len(tokens)-n+1); i++ {
		out[strings.Join(tokens[i:min(i+n, len(tokens))], "\x00")]++
	}
	return out
}

// ScorePage compares an extracted text with the reference text the way
// the benchmark does.
func ScorePage(predicted, truth string) PageScore {
	p, t := shingles(predicted), shingles(truth)
	var s PageScore
	for k, pc := range p {
		tc := t[k]
		s.TP += float64(min(pc, tc))
		s.FP += float64(max(0, pc-tc))
	}
	for k, tc := range t {
		s.FN += float64(max(0, tc-p[k]))
	}
	if sum := s.TP + s.FP + s.FN; sum > 0 {
		s.TP, s.FP, s.FN = s.TP/sum, s.FP/sum, s.FN/sum
	}
	return s
}

// Aggregate turns per-page scores into the benchmark's precision, recall
// and F1.
func Aggregate(pages []PageScore) (precision, recall, f1 float64) {
	var ps, rs []float64
	for _, s := range pages {
		if s.FP == 0 && s.FN == 0 {
			ps, rs = append(ps, 1), append(rs, 1)
			continue
		}
		if s.TP+s.FP > 0 {
			ps = append(ps, s.TP/(s.TP+s.FP))
		}
		if s.TP+s.FN > 0 {
			rs = append(rs, s.TP/(s.TP+s.FN))
		}
	}
	precision, recall = mean(ps), mean(rs)
	if precision+recall > 0 {
		f1 = 2 * precision * recall / (precision + recall)
	}
	return precision, recall, f1
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// BenchmarkPage is one page of the article-extraction benchmark.
type BenchmarkPage struct {
	ID    string
	URL   string
	HTML  []byte
	Truth string // the article body
	// Title, Standfirst and Byline are the reference header where a corpus
	// has one; the public benchmark does not.
	Title, Standfirst, Byline string
}

// ErrNoCorpus is returned when an evaluation corpus is not where it was
// looked for.
var ErrNoCorpus = errors.New("clean: evaluation corpus not found")

// LoadBenchmark reads a corpus in the article-extraction benchmark's form
// from dir (ground-truth.json and html/ID.html.gz or html/ID.html), in id
// order. Besides articleBody and url, an entry may give the reference
// header: headline (or title), standfirst (or description) and byline (or
// author).
func LoadBenchmark(dir string) ([]BenchmarkPage, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "ground-truth.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoCorpus, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("clean: read benchmark: %w", err)
	}
	var truth map[string]struct {
		ArticleBody string `json:"articleBody"`
		URL         string `json:"url"`
		Headline    string `json:"headline"`
		Title       string `json:"title"`
		Description string `json:"description"`
		Standfirst  string `json:"standfirst"`
		Author      string `json:"author"`
		Byline      string `json:"byline"`
	}
	if err := json.Unmarshal(raw, &truth); err != nil {
		return nil, fmt.Errorf("clean: parse ground truth: %w", err)
	}
	ids := make([]string, 0, len(truth))
	for id := range truth {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	pages := make([]BenchmarkPage, 0, len(ids))
	for _, id := range ids {
		body, err := readGzip(filepath.Join(dir, "html", id+".html.gz"))
		if errors.Is(err, os.ErrNotExist) {
			body, err = os.ReadFile(filepath.Join(dir, "html", id+".html"))
		}
		if err != nil {
			return nil, fmt.Errorf("clean: read benchmark page %s: %w", id, err)
		}
		t := truth[id]
		byline := t.Byline
		if byline == "" && t.Author != "" {
			byline = bylineFromAuthors(t.Author, "")
		}
		pages = append(pages, BenchmarkPage{ID: id, URL: t.URL, HTML: body, Truth: t.ArticleBody,
			Title: cmp.Or(t.Headline, t.Title), Standfirst: cmp.Or(t.Standfirst, t.Description), Byline: byline})
	}
	return pages, nil
}

func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// Extractor returns the article text of one page, as scored by the
// benchmark.
type Extractor func(ctx context.Context, page BenchmarkPage) (string, error)

// Evaluate runs extract on every page and scores the results. A page whose
// extraction fails is scored as an empty prediction, as the benchmark does.
func Evaluate(ctx context.Context, pages []BenchmarkPage, extract Extractor) (ExtractionScore, []PageScore, error) {
	scores := make([]PageScore, len(pages))
	var res ExtractionScore
	for i, p := range pages {
		if err := ctx.Err(); err != nil {
			return res, nil, err
		}
		start := time.Now()
		text, err := extract(ctx, p)
		res.Elapsed += time.Since(start)
		if err != nil {
			res.Failed++
			text = ""
		}
		scores[i] = ScorePage(text, p.Truth)
	}
	res.Pages = len(pages)
	res.Precision, res.Recall, res.F1 = Aggregate(scores)
	return res, scores, nil
}

// ScriptText is the text of a script as the benchmark scores it: the body
// in reading order with its headings, without title, standfirst and
// byline, which the benchmark's reference texts leave out.
func ScriptText(s script.Script) string {
	var parts []string
	for _, sec := range s.Sections {
		if sec.Heading != "" {
			parts = append(parts, sec.Heading)
		}
		for _, b := range sec.Blocks {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, "\n\n")
}

// Extract returns an Extractor that cleans each page with c.
func (c *Cleaner) Extract() Extractor {
	return func(ctx context.Context, p BenchmarkPage) (string, error) {
		s, err := c.Clean(ctx, Input{Body: p.HTML, ContentType: "text/html", URL: p.URL})
		if err != nil {
			return "", err
		}
		return ScriptText(s), nil
	}
}

// PageReport is one page's result in a corpus evaluation.
type PageReport struct {
	ID, URL string
	Err     error     // the cleaner's error, when it failed
	Body    PageScore // the body against the reference body
	ReadAloudPage
}

// Evaluation is a cleaner's result on one corpus: the body as the
// benchmark scores it, and what a listener hears.
type Evaluation struct {
	Body ExtractionScore
	// ReadAloud is precision, recall and F1 of title, standfirst, byline
	// and body against the reference (see ScoreReadAloud).
	ReadAloud struct{ Precision, Recall, F1 float64 }
	// JunkStandfirst and Boilerplate count pages whose standfirst is not
	// the article's, and pages where any block heard is on the junk list.
	JunkStandfirst, Boilerplate int
	Pages                       []PageReport
}

// Evaluate cleans every page and scores both the body and the read-aloud
// text, a page per CPU at a time. A failed page scores as empty on both.
func (c *Cleaner) Evaluate(ctx context.Context, pages []BenchmarkPage) (Evaluation, error) {
	var ev Evaluation
	ev.Pages = make([]PageReport, len(pages))
	took := make([]time.Duration, len(pages))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(pages)) {
		wg.Go(func() {
			for i := range next {
				ev.Pages[i], took[i] = c.evaluatePage(ctx, pages[i])
			}
		})
	}
	for i := range pages {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return ev, err
	}
	body := make([]PageScore, len(pages))
	heard := make([]PageScore, len(pages))
	for i, r := range ev.Pages {
		ev.Body.Elapsed += took[i]
		if r.Err != nil {
			ev.Body.Failed++
		}
		if r.JunkStandfirst != "" {
			ev.JunkStandfirst++
		}
		if len(r.Junk) > 0 {
			ev.Boilerplate++
		}
		body[i], heard[i] = r.Body, r.Score
	}
	ev.Body.Pages = len(pages)
	ev.Body.Precision, ev.Body.Recall, ev.Body.F1 = Aggregate(body)
	ev.ReadAloud.Precision, ev.ReadAloud.Recall, ev.ReadAloud.F1 = Aggregate(heard)
	return ev, nil
}

// evaluatePage cleans one page and scores it, and says how long cleaning
// took.
func (c *Cleaner) evaluatePage(ctx context.Context, p BenchmarkPage) (PageReport, time.Duration) {
	start := time.Now()
	s, err := c.Clean(ctx, Input{Body: p.HTML, ContentType: "text/html", URL: p.URL})
	took := time.Since(start)
	r := PageReport{ID: p.ID, URL: p.URL, Err: err}
	if err != nil {
		s = script.Script{}
	}
	r.Body = ScorePage(ScriptText(s), p.Truth)
	r.ReadAloudPage = ScoreReadAloud(s, p)
	return r, took
}
