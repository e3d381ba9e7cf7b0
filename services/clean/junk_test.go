package clean

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestJunkKinds cleans small pages written for this project, one for each
// kind of page furniture that used to be read aloud, and checks that the
// furniture is gone, that every paragraph of the article is read in order,
// and that the standfirst is the article's or none.
func TestJunkKinds(t *testing.T) {
	ferry := []string{"The Harwick ferry will run every half hour", "Two new boats, built at a yard", "Council leader Maria Okafor said", "Fares stay at"}
	library := []string{"Bramley's public library reopened", "More than 2,000 people", "The building kept its Victorian front", "The rebuild cost"}
	for _, tc := range []struct {
		page       string
		body       []string // the start of each paragraph, in order
		standfirst string   // "" means none
		junk       []string
	}{
		{"standfirst-newsletter", ferry, "", []string{"newsletter", "briefing"}},
		{"standfirst-other-headline", ferry, "", []string{"swing bridge", "new deck"}},
		{"standfirst-interface", library, "", []string{"visibility as needed", "Online Games"}},
		{"standfirst-bio", library, "", []string{"arts correspondent", "has covered the county"}},
		{"standfirst-cookie", ferry, "", []string{"cookies", "cookie policy"}},
		{"standfirst-wire", ferry, "", []string{"independent global news organization"}},
		{"standfirst-good", ferry, "Two new boats will double the crossings across the estuary after a year of breakdowns that stranded commuters.", nil},
		{"standfirst-description", library, "The rebuilt Victorian library on Hill Street adds a children's floor, a café and a local history room.", nil},
		{"standfirst-site-description", library, "", []string{"award-winning team"}},
		{"standfirst-repeat", ferry, "", nil},
		{"comments", ferry, "", []string{"Dave from Eastbank", "missed the 7.40", "Leave a Reply", "Required fields", "Save my name"}},
		{"comments-unnamed", ferry, "", []string{"Leave a Reply", "will not be published", "Jim Baxter", "my brother worked"}},
		{"social-embeds", append(ferry[:2:2], "The council leader announced", "Maria Okafor wrote: Delighted to confirm", ferry[2], ferry[3]), "",
			[]string{"pic.twitter", "@CllrOkafor", "March 13, 2025", "t.co", "View this post", "@harwickferry", "A post shared by"}},
		{"gallery", library, "", []string{"In pictures", "of 24", "room 7", "Previous", "Next"}},
		{"gallery-counters", library, "", []string{"Image 1 of 12", "Image 2 of 12"}},
		{"video-player", ferry, "", []string{"dialog window", "modal window", "Current Time", "Duration", "Loaded", "Fullscreen", "Mute"}},
		{"video-player-unnamed", ferry, "", []string{"dialog window", "Current Time", "Duration", "Playback Rate", "Captions off"}},
		{"teasers", ferry, "", []string{"MORE:", "READ MORE", "Related:", "Swing bridge", "fares frozen", "Appledore yard that builds"}},
		{"wire-boilerplate", ferry, "", []string{"Our Standards", "Trust Principles", "Reporting by", "independent global news", "most trusted source"}},
		{"contact-follow", library, "", []string{"story to tell", "newsdesk@", "Get in touch", "tips@", "Follow Ruth Ames", "Google News"}},
		{"follow-inline", library, "", []string{"Follow us on Twitter", "@HarwickGazette"}},
		{"affiliate", library, "", []string{"commission", "independently select", "affiliate links"}},
		{"live-blog", ferry, "", []string{"key events", "Pinned", "3m ago", "1h ago", "Load more"}},
		{"split-body", append(ferry[:4:4], "The old boat, the Estuary Queen", "Commuters who kept a diary", "The county's transport committee"), "",
			[]string{"Most read", "Advertisement"}},
		{"danish", []string{"Færgen over Hjerting Fjord", "To nye færger, bygget", "Borgmester Hanne Kjær", "Billetprisen for gående"},
			"To nye færger fordobler antallet af afgange over fjorden efter et år med aflysninger.",
			[]string{"Annonce", "Læs også", "Del artiklen", "cookies", "Torvegade", "Nyheder"}},
	} {
		t.Run(tc.page, func(t *testing.T) {
			body := readFile(t, filepath.Join("testdata", "junk", tc.page+".html"))
			s, err := newCleaner(t, Config{}).Clean(context.Background(), Input{Body: body, URL: "https://news.example/" + tc.page})
			if err != nil {
				t.Fatal(err)
			}
			paras := s.Paragraphs()
			if len(paras) != len(tc.body) {
				t.Errorf("%d paragraphs, want %d:\n%s", len(paras), len(tc.body), strings.Join(paras, "\n"))
			}
			for i, want := range tc.body {
				if i < len(paras) && !strings.HasPrefix(paras[i], want) {
					t.Errorf("paragraph %d is %.60q, want it to start %q", i+1, paras[i], want)
				}
			}
			if s.Standfirst != tc.standfirst {
				t.Errorf("standfirst %q, want %q", s.Standfirst, tc.standfirst)
			}
			heard := ReadAloudText(s)
			for _, j := range tc.junk {
				if regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(j)).MatchString(heard) {
					t.Errorf("%q is read aloud", j)
				}
			}
		})
	}
}

// TestNoArticleSaysWhy checks that a page without an article fails with
// a reason an editor can act on.
func TestNoArticleSaysWhy(t *testing.T) {
	for page, why := range map[string]string{
		"no-body-links":  "links: it looks like a home, section or index page",
		"no-body-script": "builds its content with JavaScript",
	} {
		body := readFile(t, filepath.Join("testdata", "junk", page+".html"))
		_, err := newCleaner(t, Config{}).Clean(context.Background(), Input{Body: body})
		if !errors.Is(err, ErrNoArticle) || !strings.Contains(err.Error(), why) {
			t.Errorf("%s: error %v, want ErrNoArticle saying %q", page, err, why)
		}
	}
}
