package clean

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Embedded social posts are read as "NAME wrote: TEXT", without links,
// handles or dates. Dropping them would cut what the article quotes and
// often discusses ("In a post on X, the mayor wrote:"), and reading them
// raw puts "pic dot twitter dot com slash…", handles and dates in the
// listener's ear; the post's words are the part the journalist chose.

// socialEmbedClass matches the class names of the embed codes social
// networks give out (X/Twitter, Instagram, TikTok, Facebook, Threads,
// Bluesky, Mastodon, Reddit).
var socialEmbedClass = regexp.MustCompile(`(?i)(?:^|[-_ ])(twitter-tweet|twitter-video|instagram-media|tiktok-embed|fb-post|fb-xfbml-parse-ignore|text-post-media|bluesky-embed|mastodon-embed|reddit-embed-bq|embed-twitter|embed-instagram|social-embed|tweet-embed)(?:$|[-_ ])`)

var (
	// tweetTrailer is an embed's attribution: "— Jane Doe (@jane) May 4, 2024".
	tweetTrailer = regexp.MustCompile(`\s*[—–-]+\s*([^()@—–]{1,80}?)\s*\(@\w{1,30}\)\s*(?:[A-Z][a-z]+\.? \d{1,2}, \d{4})?\s*$`)
	// postedBy is Instagram's attribution: "A post shared by Jane Doe (@jane)".
	postedBy = regexp.MustCompile(`(?i)a (?:post|photo|video) shared by\s*([^()@]{1,80}?)\s*\(@[\w.]{1,30}\)\s*(?:on .{1,40})?$`)
	// socialLink is a link or handle that only makes sense on screen.
	socialLink = regexp.MustCompile(`(?i)(?:https?://\S+|\bpic\.twitter\.com/\S+|\b(?:t\.co|bit\.ly|ow\.ly|instagr\.am)/\S+|(?:^|\s)@\w{1,30}\b)`)
	// viewOn is the embed's call to open the post elsewhere.
	viewOn = regexp.MustCompile(`(?i)\b(?:view this post on instagram|see (?:more|this post) on (?:instagram|facebook|x|twitter|tiktok)|watch on tiktok|a post shared by[^.]*)`)
)

// trailingTags matches the run of hashtags that ends a post.
var trailingTags = regexp.MustCompile(`(?:\s*#[\p{L}\p{N}_]+)+\s*$`)

// rewriteSocialEmbeds replaces each embedded social post under root by a
// quote that reads "NAME wrote: TEXT", or removes it when it has no text.
func rewriteSocialEmbeds(root *html.Node) {
	var embeds []*html.Node
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode && socialEmbedClass.MatchString(attr(c, "class")) {
				embeds = append(embeds, c)
				continue
			}
			rec(c)
		}
	}
	rec(root)
	for _, e := range embeds {
		text := socialPostText(collapse(textOf(e)))
		if e.Parent == nil {
			continue
		}
		if text != "" {
			q := &html.Node{Type: html.ElementNode, Data: "blockquote", DataAtom: atom.Blockquote}
			p := &html.Node{Type: html.ElementNode, Data: "p", DataAtom: atom.P}
			p.AppendChild(&html.Node{Type: html.TextNode, Data: text})
			q.AppendChild(p)
			e.Parent.InsertBefore(q, e)
		}
		e.Parent.RemoveChild(e)
	}
}

// socialPostText turns the text of an embedded post into what is read:
// "NAME wrote: TEXT", or TEXT when the post names no author.
func socialPostText(raw string) string {
	name := ""
	if m := tweetTrailer.FindStringSubmatchIndex(raw); m != nil {
		name = strings.TrimSpace(raw[m[2]:m[3]])
		raw = raw[:m[0]]
	} else if m := postedBy.FindStringSubmatchIndex(raw); m != nil {
		name = strings.TrimSpace(raw[m[2]:m[3]])
		raw = raw[:m[0]]
	}
	text := stripSocial(raw)
	if text == "" {
		return ""
	}
	if name != "" {
		return name + " wrote: " + text
	}
	return text
}

// stripSocial removes links, handles and embed calls to action from text.
func stripSocial(text string) string {
	text = viewOn.ReplaceAllString(text, " ")
	text = socialLink.ReplaceAllString(text, " ")
	text = strings.Trim(collapse(text), " —–-|")
	// Hashtags closing a post are labels, not words of it; one inside a
	// sentence is read as its word.
	text = trailingTags.ReplaceAllString(text, "")
	return strings.ReplaceAll(text, "#", "")
}

// inlineSocial matches what an embedded post leaves in a paragraph when
// the page did not mark it up as an embed: a pic.twitter.com link, or the
// "— Name (@handle) May 4, 2024" attribution.
var inlineSocial = regexp.MustCompile(`(?i)\bpic\.twitter\.com/\S+|https?://t\.co/\S+|\s*[—–]\s*[^()@—–]{1,80}?\s*\(@\w{1,30}\)\s*(?:[A-Z][a-z]+\.? \d{1,2}, \d{4})?\s*$`)

// cleanSocial reads a paragraph that holds a post without its embed
// markup: the attribution becomes "NAME wrote:", links go.
func cleanSocial(text string) string {
	if !inlineSocial.MatchString(text) {
		return text
	}
	return socialPostText(text)
}
