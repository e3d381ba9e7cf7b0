package api

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/publish"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageNames are the pages the handlers render; each is its template file
// with layout.html around it.
var pageNames = []string{"login", "list", "narration", "lexicon", "feeds", "backfills", "error"}

// pages holds the parsed page templates.
type pages struct {
	t map[string]*template.Template
}

var funcs = template.FuncMap{
	"ended": func(s queue.State) bool { return s == queue.Done || s == queue.Failed || s == queue.Unpublished },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"secs": func(f float64) string {
		if f < 10 {
			return fmt.Sprintf("%.1f s", f)
		}
		return (time.Duration(math.Round(f)) * time.Second).String()
	},
	"chars": func(n int) string { return thousands(n) },
	"usd": func(f *float64) string {
		if f == nil {
			return ""
		}
		return fmt.Sprintf("$%.2f", *f)
	},
	"usdOf": func(chars int, price *float64) string {
		if price == nil {
			return ""
		}
		return fmt.Sprintf("$%.2f", usd(chars, *price))
	},
	"mb":  func(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) },
	"pct": func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	// at is a time in seconds for a script; clock the same for people (1:02.5).
	"at": func(f *float64) string { return fmt.Sprintf("%.3f", *f) },
	"clock": func(f *float64) string {
		d := time.Duration(math.Round(*f*10)) * time.Second / 10
		return fmt.Sprintf("%d:%04.1f", int(d.Minutes()), (d % time.Minute).Seconds())
	},
	"usdRate": func(f *float64) string { return fmt.Sprintf("$%g", *f) },
	// minutes writes seconds of audio as minutes: "7.2 min".
	"minutes":   func(seconds int) string { return fmt.Sprintf("%.1f min", float64(seconds)/60) },
	"join":      strings.Join,
	"platforms": func() []string { return publish.Platforms },
}

// loadPages parses every page and panics if one is missing or broken: the
// templates are compiled in, so that is a bug to catch at start-up.
func loadPages() *pages {
	p := &pages{t: map[string]*template.Template{}}
	for _, name := range pageNames {
		t := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
		for _, block := range []string{"layout.html", "content"} {
			if t.Lookup(block) == nil {
				panic(fmt.Sprintf("api: template %s.html defines no %q", name, block))
			}
		}
		p.t[name] = t
	}
	return p
}

// render executes a page into a buffer first, so that a template error
// is a 500 and not half a page.
func (p *pages) render(w http.ResponseWriter, status int, name string, d pageData) error {
	t, ok := p.t[name]
	if !ok {
		panic("api: no page " + name)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return err
	}
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// staticHandler serves the dashboard's script and styles.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, ".")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}

// thousands writes n with thousands separators: 12,345.
func thousands(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
