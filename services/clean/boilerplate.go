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
	`breadcrumbs?`, `tags`, `tag-list`, `author-bio`, `print-only`, `bio`, `author-box`, `about-author`,
	`about-the-author`, `author-card`, `contributor-bio`, `follow`, `follow-us`, `social-follow`,
	// contact and tip boxes
	`tips?`, `tip-line`, `contact-box`,
	// affiliate disclaimers
	`disclaimer`, `disclosure`, `affiliate`, `affiliate-disclosure`,
	// live-blog chrome
	`key-events`, `live-filter`, `liveblog-nav`, `timeline-nav`,
}, "|") + `)(?:$|[-_])`)

// strongBoilerClass matches names of boxes that are never the article and
// can be long: comment threads, galleries and players. They are removed
// whatever their length, unless they hold the article (see holdsArticle).
var strongBoilerClass = regexp.MustCompile(`(?i)(?:^|[-_])(` + strings.Join([]string{
	`comments?`, `comment-list`, `commentlist`, `comment-form`, `comments-area`, `comment-respond`, `respond`,
	`disqus`, `discussion`, `conversation`, `coral`, `replies`, `reader-comments`, `user-comments`,
	`gallery`, `slideshow`, `carousel`, `slider`, `lightbox`, `swiper`, `photo-gallery`,
	`vjs`, `video-js`, `jwplayer`, `jw-wrapper`, `video-player`, `videoplayer`, `media-player`,
	`brightcove`, `playlist`, `video-embed`, `video-wrapper`,
	`related`, `related-articles`, `related-stories`, `more-stories`, `recirc`, `recirculation`, `outbrain`,
	`taboola`, `read-next`, `up-next`,
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
	pageText := paragraphChars(root)
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode {
				continue
			}
			if isBoilerElement(c, keepCaptions) || isStrongBoiler(c, pageText) {
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

// isStrongBoiler reports whether n is a comment thread, gallery, player or
// recirculation box by name, and does not hold the article.
func isStrongBoiler(n *html.Node, pageText int) bool {
	switch tagOf(n) {
	case atom.Html, atom.Body, atom.Main, atom.Article, atom.H1:
		return false
	}
	named := false
	for _, a := range n.Attr {
		if a.Key == "class" || a.Key == "id" {
			for _, w := range strings.Fields(a.Val) {
				if strongBoilerClass.MatchString(w) && !contentClass.MatchString(w) {
					named = true
				}
			}
		}
	}
	return named && !holdsArticle(n, pageText)
}

// holdsArticle reports whether n holds the article's headline or half
// the page's paragraph text: then it wraps the article, whatever its name.
func holdsArticle(n *html.Node, pageText int) bool {
	return containsTag(n, atom.H1) || 2*paragraphChars(n) > pageText
}

// paragraphChars counts the characters of text in <p> elements under n.
func paragraphChars(n *html.Node) int {
	total := 0
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode || skipTags[tagOf(c)] {
				continue
			}
			if tagOf(c) == atom.P {
				total += len(strings.TrimSpace(textOf(c)))
				continue
			}
			rec(c)
		}
	}
	rec(n)
	return total
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
	// other languages' ad labels
	`annonce|annonse|annons|anzeige|werbung|publicit[ée]|publicidad|pubblicit[àa]|reklame|reklam|advertentie|mainos`,
	// Ukrainian sites
	`реклама`, `поділитися`, `читайте також`, `слухати (?:статтю|новину)`,
	// comment threads and forms
	`(?:\d+ )?comments?(?: \(\d+\))?`, `leave a (?:reply|comment)(?: cancel reply)?`, `cancel reply`, `reply`, `report`,
	`(?:\d+ )?(?:replies|likes?|upvotes?|points?)`, `your e-?mail address will not be published.{0,80}`,
	`required fields are marked.{0,10}`, `(?:name|e-?mail|website|comment|message)\s?\*?`, `(?:post|submit|add) (?:a )?comment`,
	`save my name,? e-?mail,? and website.{0,80}`, `notify me of (?:follow-up comments|new posts).{0,80}`,
	`this site uses akismet.{0,120}`, `comments (?:are|is) (?:closed|moderated).{0,120}`,
	`join the (?:conversation|discussion|debate)`, `(?:view|show|hide|load|read) (?:all )?(?:\d+ )?comments?`,
	`comments are subject to .{0,120}`, `community (?:standards|guidelines)`,
	// galleries and players
	`(?:photo|image|slide|picture)?\s?\d{1,3} ?(?:of|/) ?\d{1,3}`, `(?:previous|next)(?: (?:slide|image|photo|picture))?`,
	`(?:view|see|launch|open|expand) (?:the )?(?:full )?(?:photo |image )?gallery`, `(?:enlarge|expand) (?:this )?(?:image|photo)`,
	`(?:beginning|end) of dialog window.{0,80}`, `this is a modal window.{0,120}`, `escape will cancel and close the window`,
	`(?:current time|duration|remaining time|loaded|progress|stream type|playback rate|seek to live)\b.{0,30}`,
	`(?:captions|subtitles|descriptions|audio track|chapters)(?: (?:off|settings|on))?(?:,? selected)?(?:,? opens .{0,40})?`,
	`(?:font size|font family|text edge style|reset restore all settings.{0,40}|close modal dialog)`,
	`(?:play|pause|mute|unmute|fullscreen|non-fullscreen|exit fullscreen|replay|close|skip ad|seek|volume|settings|quality|speed|cc|hd|live|auto)`,
	`(?:now playing|autoplay|watch next|next video|watch now|watch more|play video|click to play|tap to unmute)`,
	`video player is loading.{0,20}`, `your browser does not support.{0,80}`, `this video (?:is|has been) .{0,60}`,
	// live blogs
	`(?:show )?key events(?: only)?`, `pinned(?: post)?`, `\d+ ?(?:s|m|min|mins|minutes?|h|hrs?|hours?|d|days?) ago`,
	`live(?: updates| blog| coverage| now)?`, `refresh`, `load (?:more|earlier|later)(?: updates| posts| entries)?`,
	`(?:see|show) (?:\d+ )?new (?:posts?|updates?)`, `(?:jump|skip|go) to (?:the )?(?:latest|key events|top)`,
	`breaking(?: news)?`, `please (?:turn on|enable) javascript.{0,120}`,
	`(?:https?://)?(?:www\.)?(?:twitter|x|facebook|instagram|tiktok|youtube)\.com/\S+`,
	// follow-us and contact lines
	`follow (?:us|me)(?: on .{1,60})?`, `get in touch`, `contact us`, `send (?:us )?(?:a )?(?:news )?tip`,
	// bare links and interface messages, editing instructions left on the page
	`(?:change|edit|set|update) the (?:story|article|post|page)'?s? (?:title|subtitle|visibility|settings|slug).{0,80}`,
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
	`(?:more|read more|also|related|see|watch|listen|trending|must read|editor'?s picks?|top stories|latest)\s*:`,
	`(?:read|watch|listen to)(?: the full| the| our)? (?:story|article|report|interview|video|episode) here\b`,
	`(?:photo|image|slide|picture) ?\d{1,3} ?(?:of|/) ?\d{1,3}\b`, `\d{1,3} of \d{1,3}\b`,
	`e-?mail [\p{L}.'’ -]{2,40} at \S+@\S+`,
	`follow (?:us|me|him|her|them|[\p{L}@][\p{L}.@_'’-]*(?: [\p{L}][\p{L}.'’-]*){0,6})(?: on (?:twitter|x|facebook|instagram|linkedin|tiktok|threads|bluesky|youtube|google news|flipboard|whatsapp|telegram)|:? @\w+)`,
	`(?:like|find) us on (?:facebook|instagram|twitter)`, `join (?:us|our .{1,30}) on (?:whatsapp|telegram|facebook|discord)`,
	`(?:do|did) you have a (?:story|news tip|tip|question)`, `got a (?:story|tip|news tip)`, `(?:have|got) (?:a )?(?:news )?tips?\b`,
	`get in touch\b`, `send (?:us )?(?:your )?(?:news )?tips?\b`, `(?:e-?mail|write to|reach|contact) (?:us|me|him|her|them|the (?:author|reporter|writer|newsroom|editor)s?)\b.{0,40}(?:@|\bat\b|on twitter)`,
	`our standards\b`, `(?:the )?(?:thomson )?reuters trust principles`, `this material may not be published`,
	`(?:the )?associated press (?:is an independent|contributed to)`, `(?:ap|reuters|afp) contributed to this`,
	`disclosure:`, `(?:this|our) (?:post|article|story|page|content) (?:contains|may contain|includes|uses) affiliate`,
	`(?:if|when) you (?:buy|purchase|click|shop|subscribe) .{0,80}(?:we|may) (?:earn|receive|get|collect)`,
	`available (?:from|at) .{1,40} .{1,30} may receive a commission`, `prices? (?:and availability )?(?:were |are )?(?:accurate|correct) (?:as of|at)`,
	`all products (?:featured|recommended)`, `(?:every|each) product (?:we feature|is) (?:has been )?independently`,
	`why you can trust\b`, `we (?:independently )?(?:review|test|research) .{0,60}(?:commission|affiliate)`,
	`don'?t miss\b`, `click here\b`, `get .{1,40} by clicking here`, `have a (?:news )?tip\?`, `write to .{1,60} at \S+@\S+`,
	`this copy is for your personal`, `like this (?:story|article)\? share`,
	`\(?(?:læs også|les også|läs (?:även|också)|lue myös|leggi anche|lees ook|lire aussi|voir aussi|lesen sie auch|leia também|lea también|читайте (?:также|також)|дивіться також)\b`,
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
	`delivered (?:straight |directly |right )?(?:to|into) your inbox`, `(?:top|latest) (?:headlines|stories) .{0,40}inbox`,
	`is an independent global news organi[sz]ation`, `trust principles`,
	`(?:may|might|will) (?:earn|receive|get|collect) (?:a )?(?:small )?(?:affiliate )?(?:commission|fee|compensation)`,
	`affiliate (?:partnerships?|programs?)`, `independently (?:selected|chosen|reviewed) by (?:our )?(?:editors|editorial)`,
	`(?:do|did) you have a story to (?:tell|share)`,
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
	if n <= maxTeaserChars && urlShare(text) >= 0.4 {
		return true // a list of links: "More AP NBA: https://… and https://…"
	}
	if strings.Contains(low, "[/") && shortcode.MatchString(low) {
		return true
	}
	return false
}

var bareURL = regexp.MustCompile(`(?:https?://|www\.)\S+`)

// urlShare returns the share of text's characters that are bare URLs.
func urlShare(text string) float64 {
	if text == "" {
		return 0
	}
	n := 0
	for _, u := range bareURL.FindAllString(text, -1) {
		n += len(u)
	}
	return float64(n) / float64(len(text))
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

// commentsStart matches the heading or label that opens a comment thread
// or form. What follows it on the page is the readers', not the article.
var commentsStart = regexp.MustCompile(`(?i)^(?:\d+ )?(?:comments?|responses?|replies|reader comments|discussion)(?: \(\d+\))?:?$|^(?:leave|post|add|write|submit) a (?:reply|comment|response)\b|^join the (?:conversation|discussion|debate)\b|^(?:what do you think|have your say)\??$|^comments? (?:are|is) (?:closed|disabled)\b|^\d+ thoughts? on\b`)

// minBodyBeforeComments is how much article text must come before a
// comments heading for the rest of the page to be cut there: a comment
// count near the headline is not the end of the article.
const minBodyBeforeComments = 200

// junkSentence matches a sentence that is page furniture even inside a
// paragraph of article text: a follow-us or contact line, a sign-up call.
var junkSentence = regexp.MustCompile(`(?i)^(?:follow (?:us|me|him|her|them|[\p{L}@][\p{L}.@_'’-]*(?: [\p{L}][\p{L}.'’-]*){0,6})(?: on (?:twitter|x|facebook|instagram|linkedin|tiktok|threads|bluesky|youtube|google news)|:? @\w+)|(?:e-?mail|contact|reach) .{1,60}(?:\S+@\S+\.\w+|on twitter)|sign up (?:for|to) .{0,60}newsletter|(?:read|see) more:|(?:like|find) us on (?:facebook|instagram|twitter))`)

// stripJunkSentences removes junk sentences from a paragraph that has
// other sentences; a paragraph of nothing else is left to isBoilerplate.
func stripJunkSentences(text string) string {
	sents := splitSentences(text)
	if len(sents) < 2 {
		return text
	}
	kept := sents[:0]
	for _, s := range sents {
		if len(s) <= 200 && junkSentence.MatchString(s) {
			continue
		}
		kept = append(kept, s)
	}
	return strings.Join(kept, " ")
}

// splitSentences splits text after ".", "!" or "?" followed by a space
// and a capital letter, a digit, "@" or a quote; good enough to find the
// stock sentences junkSentence matches.
func splitSentences(text string) []string {
	var out []string
	start := 0
	rs := []rune(text)
	pos := 0 // byte offset of rs[i]
	for i, r := range rs {
		size := len(string(r))
		if (r == '.' || r == '!' || r == '?') && i+2 < len(rs) && rs[i+1] == ' ' {
			next := rs[i+2]
			if unicode.IsUpper(next) || unicode.IsDigit(next) || next == '@' || next == '"' || next == '“' {
				out = append(out, strings.TrimSpace(text[start:pos+size]))
				start = pos + size
			}
		}
		pos += size
	}
	if t := strings.TrimSpace(text[start:]); t != "" {
		out = append(out, t)
	}
	return out
}
