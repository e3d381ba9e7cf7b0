package clean

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// boilerClass matches the class or id words news sites give to what they
// wrap around an article. Words are matched whole (between -, _ and the
// ends of the name), so "share" matches "share-bar" but not "shared".
var boilerClass = regexp.MustCompile(`(?i)(?:^|[-_])(` + strings.Join([]string{
	// consent and cookie banners
	`cookies?`, `consent`, `gdpr`, `cmp`,
	// newsletters, subscription and membership appeals
	`newsletters?`, `signup`, `sign-up`, `subscribe`, `subscription`, `paywall`, `membership`,
	`donate`, `donation`, `contribute`, `contributions`, `support-us`, `supporter-appeal`, `appeal`,
	`epic`, `ask`, `reader-revenue`, `piano`,
	// audio players and their labels
	`audio-player`, `listen`, `listen-to-article`, `audio-article`, `text-to-speech`, `tts`, `speechify`, `beyondwords`,
	// captions and credits
	`caption`, `figcaption`, `credits?`, `image-credit`, `photo-credit`, `wp-caption-text`,
	// teasers and recommendations inside the body
	`related`, `read-also`, `read-more`, `readmore`, `see-also`, `more-stories`, `recommended`, `recommendations`,
	`outbrain`, `taboola`, `teaser`, `promo`, `inline-promo`, `story-promo`,
	// share buttons
	`share`, `shares`, `sharing`, `share-buttons`, `sharebar`, `social-share`, `social-links`, `sharedaddy`,
	// advertising
	`ad`, `ads`, `advert`, `adverts`, `advertisement`, `ad-slot`, `adslot`, `ad-unit`, `adunit`, `dfp`, `sponsored`,
	// editing and reading-time widgets
	`post-edit-link`, `edit-link`, `reading-time`, `read-time`, `skip-link`, `screen-reader-text`, `sr-only`,
	`visually-hidden`,
	// navigation and page furniture that sometimes sits inside the body
	`breadcrumbs?`, `tags`, `tag-list`, `author-bio`, `print-only`,
}, "|") + `)(?:$|[-_])`)

// boilerRole matches ARIA roles of what is not the article.
var boilerRole = map[string]bool{"dialog": true, "alertdialog": true, "banner": true, "navigation": true, "contentinfo": true, "complementary": true}

// maxBoilerChars bounds the text of an element removed for its class name:
// boxes wrapped around an article are short, and a long element matched by
// an unlucky name is more likely to hold the article itself.
const maxBoilerChars = 1500

// pruneBoilerplate removes, before extraction, the elements that class,
// id and role names mark as boilerplate. It returns the count removed.
// With keepCaptions, captions and credits stay.
func pruneBoilerplate(root *html.Node, keepCaptions bool) int {
	var doomed []*html.Node
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode {
				continue
			}
			if isBoilerElement(c, keepCaptions) {
				doomed = append(doomed, c)
				continue
			}
			rec(c)
		}
	}
	rec(root)
	for _, n := range doomed {
		n.Parent.RemoveChild(n)
	}
	return len(doomed)
}

func isBoilerElement(n *html.Node, keepCaptions bool) bool {
	switch tagOf(n) {
	case atom.Html, atom.Body, atom.Main, atom.Article, atom.H1:
		return false
	case atom.Figcaption:
		return !keepCaptions
	}
	named := false
	for _, a := range n.Attr {
		switch a.Key {
		case "class", "id":
			for _, w := range strings.Fields(a.Val) {
				if boilerClass.MatchString(w) && !contentClass.MatchString(w) && !(keepCaptions && captionClass.MatchString(w)) {
					named = true
				}
			}
		case "role":
			if boilerRole[a.Val] {
				named = true
			}
		}
	}
	if !named {
		return false
	}
	// An element that holds the article's headline or most of its
	// paragraphs is a wrapper, whatever its name says.
	return len(strings.TrimSpace(textOf(n))) <= maxBoilerChars && !containsTag(n, atom.H1)
}

// captionClass matches the class names of captions and credits.
var captionClass = regexp.MustCompile(`(?i)caption|credit`)

// contentClass matches names that mark article content even when they also
// contain a boilerplate word ("article-body-ad-free", "post-content").
var contentClass = regexp.MustCompile(`(?i)(article|story|post|entry|main)[-_]?(body|content|text)`)

func containsTag(n *html.Node, a atom.Atom) bool {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if tagOf(c) == a || containsTag(c, a) {
			return true
		}
	}
	return false
}

// boilerLine matches a whole block that is page furniture, not article.
// The block is lower-cased and stripped of surrounding punctuation first.
var boilerLine = regexp.MustCompile(`^(?:` + strings.Join([]string{
	// audio players
	`listen to (?:this|the) (?:article|story|podcast|episode)(?: \d+(?::\d+)?(?: min(?:utes?)?)?)?`,
	`(?:this )?audio is (?:created|generated|produced) (?:with|using|by)(?: the help of)? (?:ai|artificial intelligence)(?: assistance)?`,
	`(?:listen|play|pause|audio|narrated by .{1,40}|voiced by ai)`,
	// skip links and editing widgets
	`skip to (?:main )?(?:content|navigation|article)`, `jump to (?:main )?content`, `edit(?: this)? (?:post|article|page)`,
	// reading time
	`\d+ ?(?:min|mins|minutes?)(?: read| reading time)?`, `(?:reading|read) time:? \d+ ?(?:min|mins|minutes?)`,
	`(?:estimated )?reading time:? .{0,20}`,
	// advertising labels
	`advertisement`, `advertising`, `ad`, `sponsored(?: content)?`, `(?:story )?continues below(?: advertisement)?`,
	`scroll (?:down )?to continue(?: reading)?(?: with content)?`, `continue reading(?: below| the main story)?`,
	`article continues (?:below|after (?:this )?advertisement)`,
	// newsletter boxes
	`sign up`, `sign me up`, `subscribe`, `subscribe now`, `enter your e-?mail(?: address)?`, `your e-?mail(?: address)?`,
	`thanks? (?:you )?for (?:signing up|subscribing)`, `get (?:the|our) .{1,50} newsletter`,
	// sharing
	`share(?: this)?(?: article| story| post| page)?(?: on [a-z]+)?`, `copy link`, `link copied`, `print`,
	`(?:share|follow us)?(?: ?(?:facebook|twitter|x|linkedin|whatsapp|telegram|reddit|pinterest|email|e-mail|flipboard|messenger|copy link|print|share|tweet|post)){1,9}`,
	// teasers
	`(?:read|see) (?:also|more|next)`, `also read`, `related(?: stories| articles| content| coverage| reading| topics)?`,
	`more on this(?: story| topic)?`, `recommended(?: for you)?`, `you (?:may|might) also like`, `most (?:read|popular|viewed)`,
	// membership and donation buttons
	`become a (?:member|subscriber|supporter|patron)`, `gift (?:a )?membership`, `donate(?: now| today)?`,
	`support (?:us|our journalism)`, `already a (?:member|subscriber)\?? ?(?:log in|sign in)?`,
	// cookie buttons
	`accept(?: all)?(?: cookies)?`, `reject all`, `manage (?:preferences|cookies|settings)`, `cookie (?:settings|policy)`,
	`i agree`, `got it`,
	// tags, comments, update stamps
	`tags?: .{0,200}`, `topics?: .{0,200}`, `filed under:? .{0,200}`,
	`you must (?:be )?log(?:ged)? in to (?:post a )?comment`, `(?:leave a|post a|add a|show) comments?`, `\d* ?comments?`,
	`(?:updated|published|posted|last updated|first published)(?: on| at)?:? [\w ,:.]{3,40}`,
	`(?:copyright|©|ⓒ|\(c\)) .{0,200}`, `all rights reserved.{0,200}`,
	// Ukrainian sites
	`реклама`, `поділитися`, `читайте також`, `слухати (?:статтю|новину)`,
	// bare links and interface messages
	`https?://\S+`, `an error (?:has )?occurred.{0,60}`, `thank you`, `this (?:article|story) has been sent to.{0,60}`,
	`loading`, `please wait`, `(?:show|load) more`,
}, "|") + `)$`)

// boilerPrefix matches the start of a short block that is a teaser or an
// appeal; such a block is dropped when it is under maxTeaserChars.
var boilerPrefix = regexp.MustCompile(`^(?:` + strings.Join([]string{
	`(?:read|see) (?:also|more|next)\s*[:»›|-]`, `also read\s*[:»›|-]`, `related(?: story| article| coverage)?\s*[:»›|-]`,
	`more on this(?: story)?\s*[:»›|-]`, `recommended\s*[:»›|-]`, `watch\s*[:»›|-]`, `listen\s*[:»›|-]`,
	`(?:photo|image|picture|photograph|illustration|graphic|video|credit|source|foto|фото)(?:s| credit)?\s*(?::|by\b)`,
	`(?:this|the) (?:article|story) (?:is|was) (?:part of|supported by|produced (?:with|by))`,
	`sign up (?:for|to) (?:our|the) (?:free )?(?:daily |weekly )?(?:newsletter|e-?mail|briefing)`, `subscribe to (?:our|the) (?:free )?(?:daily |weekly )?(?:newsletter|e-?mail|briefing)`, `get (?:our|the) .{1,40} (?:newsletter|briefing|brief)\b`,
	`we use cookies`, `this (?:site|website) uses cookies`, `by (?:clicking|continuing|using this site)`,
	`\(?(?:additional )?(?:reporting|writing|editing) by\b`, `follow (?:ap's|our|the) .{0,80}(?:coverage|updates)`,
	`(?:copyright|©|ⓒ)`,
	`(?:читайте|дивіться) також\s*[:»›|-]`, `підпис(?:уйтесь|уйтеся) на `,
	`don'?t miss\b`, `click here\b`, `get .{1,40} by clicking here`, `have a (?:news )?tip\?`, `write to .{1,60} at \S+@\S+`,
	`this copy is for your personal`, `like this (?:story|article)\? share`,
	`\(?(?:leggi anche|lees ook|lire aussi|voir aussi|lesen sie auch|leia também|lea también|читайте (?:также|також)|дивіться також)\b`,
}, "|") + `)`)

// appealRE matches membership, donation and subscription appeals inside a
// block; such a block is dropped when it is short.
var appealRE = regexp.MustCompile(`(?i)\b(?:` + strings.Join([]string{
	`become a (?:member|subscriber|supporter|patron)`, `gift (?:a )?membership`, `support (?:our|independent|local|quality) journalism`,
	`(?:make|give) a (?:one-time |one-off |monthly )?(?:donation|contribution)`, `donate (?:now|today)`,
	`(?:subscribe|sign up) (?:now|today) (?:for|to|and)`, `funded by (?:our )?readers`, `reader-funded`,
	`(?:enter|type) your e-?mail`, `sign up for (?:our|the) .{0,40}newsletter`, `newsletter sign-?up`,
	`we use cookies`, `accept (?:all )?cookies`, `privacy policy and terms of (?:use|service)`,
	`agree to (?:our|the) (?:terms|privacy)`, `this audio is (?:created|generated) with`,
	`click here to (?:subscribe|sign up|donate)`, `your support (?:helps|keeps|makes|matters)`,
	`contributed to this (?:report|story|article)\.?$`,
	`(?:may|might) (?:earn|get|receive|collect) (?:a )?(?:small )?(?:commission|share of (?:the )?sales?)`,
	`(?:free|daily|weekly) (?:e-?mail )?newsletter`, `affiliate (?:links?|commission)`, `підтримайте (?:нас|редакцію|журналістику)`, `subscribe to .{0,40}newsletters?`, `right (?:in|into|to) your inbox`,
	`share (?:it|this(?: article| story)?) with (?:a friend|your friends)`,
}, "|") + `)`)

// Length bounds for the phrase rules: a prefix or an appeal phrase in a
// block longer than these is more likely article text quoting it.
const (
	maxTeaserChars = 300
	maxAppealChars = 400
)

// boilerLabel matches the start of a label-sized block (a box heading or
// button) that invites the reader to do something other than read on.
var boilerLabel = regexp.MustCompile(`^(?:sign up (?:to|for)|subscribe (?:to|for)|get (?:the|our) |join (?:our|the) |follow us|download (?:our|the) app)`)

// maxLabelChars bounds a label: longer blocks starting the same way are
// sentences of the article.
const maxLabelChars = 80

// teaserEnd matches the cut-off end of a teaser for another article.
var teaserEnd = regexp.MustCompile(`(?:\[(?:…|\.\.\.)\]|(?:read|continue reading) more\s*(?:»|›|→)?)$`)

// captionRE matches a block that is a photo credit or caption trailer.
var captionRE = regexp.MustCompile(`(?i)(?:^|[\s(\[|/])(?:photo|image|picture|photograph|credit|foto|фото)(?:s| credit)?\s*(?::|by|©)\s*[^.]{1,80}[)\]]?$|\((?:getty images|ap|reuters|afp|epa|shutterstock)[^)]{0,40}\)$|^©`)

// isBoilerplate reports whether a block of text is page furniture rather
// than article text.
func isBoilerplate(text string) bool {
	t := strings.ToLower(strings.TrimFunc(text, func(r rune) bool {
		return unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	}))
	t = strings.Join(strings.Fields(t), " ")
	if t == "" {
		return true
	}
	if boilerLine.MatchString(t) {
		return true
	}
	n := len([]rune(text))
	low := strings.ToLower(strings.TrimSpace(text))
	if n <= maxTeaserChars && boilerPrefix.MatchString(low) {
		return true
	}
	if n <= maxAppealChars && appealRE.MatchString(low) {
		return true
	}
	if n <= maxTeaserChars && teaserEnd.MatchString(low) {
		return true
	}
	if n <= maxLabelChars && boilerLabel.MatchString(low) {
		return true
	}
	if strings.Contains(low, "[/") && shortcode.MatchString(low) {
		return true
	}
	return false
}

// shortcode matches a WordPress shortcode left in the text by a site that
// failed to render it: "[button link=...]Send us your review[/button]".
var shortcode = regexp.MustCompile(`\[/[a-z_]+\]`)

// isShoutedTeaser reports whether a paragraph is a headline-style link to
// another article, set in capitals inside the body ("SEAN SPICER
// ELIMINATED FROM 'DANCING WITH THE STARS'").
func isShoutedTeaser(text string) bool {
	if len(text) > 160 || len(strings.Fields(text)) < 4 {
		return false
	}
	letters := 0
	for _, r := range text {
		if unicode.IsLetter(r) {
			if unicode.IsLower(r) {
				return false
			}
			letters++
		}
	}
	return letters >= 12
}

// isCaption reports whether a short block reads like a photo caption with
// its credit, which extractors often keep in the body.
func isCaption(text string) bool {
	return len([]rune(text)) <= 300 && captionRE.MatchString(strings.TrimSpace(text))
}
