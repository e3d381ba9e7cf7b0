package fakesite

import (
	"fmt"
	"html"
	"math/rand/v2"
	"strings"
)

// Vocabulary of the generated articles: plausible local and national news,
// so the cleaner, normalizer and chunker see what they see in production
// (numbers, quotes, abbreviations, subheads), deterministically from a seed.
var (
	places   = []string{"Riverton", "the city council", "Harbor County", "the state legislature", "North Bay", "the school board", "Lakeside", "the transport authority"}
	people   = []string{"Maria Lopez", "James Okafor", "Dr. Helen Park", "Councillor Tom Reyes", "Ana Kowalski", "Prof. David Chen", "Sgt. Laura Finn", "Mayor Ruth Adams"}
	roles    = []string{"a spokesperson for the department", "a local business owner", "the committee's chair", "a resident of the area for 30 years", "an economist at the university", "the union's representative"}
	subjects = []string{"The proposal", "The new budget", "The bridge repair", "The housing plan", "The decision", "The report", "The investigation", "The vote"}
	verbs    = []string{"drew criticism from", "won support among", "surprised", "was welcomed by", "raised questions for", "divided", "was delayed by", "was approved by"}
	objects  = []string{"residents of the eastern districts", "small businesses on Main Street", "parents and teachers", "commuters who rely on the 14 bus", "environmental groups", "members of the opposition", "the regional health service", "farmers in the valley"}
	details  = []string{
		"The cost is estimated at $%d million, about %d%% more than last year.",
		"About %d people attended the meeting on Tuesday, and %d of them spoke.",
		"Officials said the work would take %d months and employ %d people.",
		"The figure rose by %d%% in %d, according to the latest data.",
		"A survey of %d households found that %d%% supported the change.",
		"The project was first proposed in %d and revised %d times since.",
	}
	quotes = []string{
		"We have listened carefully, and we believe this is the right step for the community.",
		"Nobody asked us. The people most affected were the last to hear about it.",
		"The numbers simply do not add up, and the public deserves a clear answer.",
		"This is a long-term investment, and the benefits will be felt for decades.",
		"We will keep pressing until every family has the information it needs.",
		"It is too early to say what the final cost will be, but we are confident.",
	}
	contexts = []string{
		"The debate has been running for more than a year, with several public hearings and two independent reviews.",
		"Critics point out that similar schemes elsewhere ran over budget and took far longer than planned.",
		"Supporters argue that doing nothing would cost more in the long run, as maintenance bills keep growing.",
		"The council will hold a final vote next month, after a period of consultation that ends on the 30th.",
		"Local newspapers have covered the story closely, and letters to the editor have been split almost evenly.",
		"Neighbouring towns are watching the outcome, since they face many of the same pressures on housing and transport.",
	}
	heads = []string{"What happens next", "How we got here", "The cost", "Reaction", "What residents say", "The wider picture", "Questions remain", "Timeline"}
)

// Story is a generated news article.
type Story struct {
	Title  string
	Author string
	Body   string // the article's HTML: paragraphs and subheads
	Chars  int    // characters of body text generated (paragraphs and subheads)
}

// Generate writes a story of about chars characters of body text, the
// same for the same seed.
func Generate(seed uint64, chars int) Story {
	rng := rand.New(rand.NewPCG(seed, 0x6e6172726174))
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	title := fmt.Sprintf("%s %s %s", pick(subjects), pick(verbs), pick(objects))
	var body strings.Builder
	n := 0
	para := func(text string) {
		fmt.Fprintf(&body, "<p>%s</p>\n", html.EscapeString(text))
		n += len([]rune(text))
	}
	sentence := func() string {
		switch rng.IntN(5) {
		case 0:
			return fmt.Sprintf(pick(details), 2+rng.IntN(900), 2+rng.IntN(60))
		case 1:
			return fmt.Sprintf("\u201c%s\u201d said %s, %s.", pick(quotes), pick(people), pick(roles))
		case 2:
			return pick(contexts)
		default:
			return fmt.Sprintf("%s %s %s in %s.", pick(subjects), pick(verbs), pick(objects), pick(places))
		}
	}
	for n < chars {
		if n > 0 && rng.IntN(4) == 0 {
			h := pick(heads)
			fmt.Fprintf(&body, "<h2>%s</h2>\n", html.EscapeString(h))
			n += len(h)
		}
		var p []string
		for range 2 + rng.IntN(4) {
			p = append(p, sentence())
		}
		para(strings.Join(p, " "))
	}
	return Story{Title: title, Author: pick(people), Body: body.String(), Chars: n}
}

// PageMeta is what an article page's head and byline say.
type PageMeta struct {
	Section   string
	Published string // RFC 3339
	Date      string // as printed: March 14, 2025
}

// Page wraps a story in a news site's page: header and navigation, the
// article with its byline and date, a "Most read" box and a footer, as
// the cleaner meets them.
func Page(s Story, m PageMeta) string {
	meta := ""
	if m.Section != "" {
		meta += fmt.Sprintf(`<meta property="article:section" content="%s">`, html.EscapeString(m.Section))
	}
	if m.Published != "" {
		meta += fmt.Sprintf(`<meta property="article:published_time" content="%s">`, m.Published)
	}
	published, date := m.Published, m.Date
	if published == "" {
		published, date = "2025-03-14T09:00:00Z", "March 14, 2025"
	}
	return fmt.Sprintf(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%[1]s | The Riverton Courier</title>
<meta property="og:title" content="%[1]s"><meta name="author" content="%[2]s">%[4]s</head>
<body><header><nav><a href="/">Home</a> <a href="/local">Local</a> <a href="/politics">Politics</a> <a href="/sport">Sport</a></nav></header>
<main><article><h1>%[1]s</h1><p class="byline">By %[2]s</p><time datetime="%[5]s">%[6]s</time>
%[3]s</article>
<aside><h3>Most read</h3><ul><li><a href="/a">Storm closes coastal road</a></li><li><a href="/b">Library reopens after repairs</a></li></ul></aside></main>
<footer><p>&copy; 2025 The Riverton Courier. All rights reserved.</p><a href="/subscribe">Subscribe</a></footer></body></html>
`, html.EscapeString(s.Title), s.Author, s.Body, meta, published, date)
}
