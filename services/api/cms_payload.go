package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"strings"
)

// Actions a CMS delivery asks for.
const (
	actionNarrate   = "narrate"
	actionUnpublish = "unpublish"
	actionIgnore    = "ignore"
)

// cmsPost is what a CMS delivery says, whatever its shape.
type cmsPost struct {
	action    string
	articleID string // "wp-<id>" or "ghost-<id>"
	title     string
	html      string
	url       string
	section   string
	author    string
	reason    string // why a delivery is ignored
}

// parseCMS reads a Ghost or WordPress delivery.
//
// Ghost sends {"post": {"current": {...}, "previous": {...}}} for
// post.published, post.published.edited, post.unpublished and
// post.deleted alike: current is empty once the post is deleted, and
// previous holds only the fields that changed.
//
// WordPress has no webhooks of its own; plugins send the post's fields
// either flat (WordPress.com and Jetpack webhooks: ID, post_title,
// post_content, post_status, post_url, hook=publish_post; as JSON or a
// form) or under "post" (WP Webhooks: post_id, post {ID, post_title, ...},
// post_permalink; or a REST API post object {id, status, link,
// title.rendered, content.rendered}), with the event in action, hook, event
// or trigger.
func parseCMS(contentType string, body []byte) (cmsPost, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	var top map[string]any
	if mt == "application/x-www-form-urlencoded" {
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return cmsPost{}, fmt.Errorf("malformed form body: %w", err)
		}
		top = map[string]any{}
		for k := range v {
			top[k] = v.Get(k)
		}
	} else if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return cmsPost{}, errors.New("malformed JSON: want a WordPress or Ghost post payload")
	}
	if g, ok := top["post"].(map[string]any); ok && (has(g, "current") || has(g, "previous")) {
		return parseGhost(g)
	}
	if _, ok := top["page"].(map[string]any); ok {
		return cmsPost{action: actionIgnore, reason: "pages are not narrated, only posts"}, nil
	}
	return parseWordPress(top)
}

func has(m map[string]any, k string) bool { _, ok := m[k]; return ok }

func parseGhost(g map[string]any) (cmsPost, error) {
	cur, _ := g["current"].(map[string]any)
	prev, _ := g["previous"].(map[string]any)
	id := str(cur, "id")
	if id == "" {
		id = str(prev, "id")
	}
	if id == "" {
		return cmsPost{}, errors.New("the Ghost payload has no post id")
	}
	p := cmsPost{articleID: "ghost-" + id}
	switch {
	case len(cur) == 0:
		p.action = actionUnpublish // post.deleted
	case str(cur, "status") == "published":
		p.action = actionNarrate
		p.title, p.html, p.url = str(cur, "title"), str(cur, "html"), str(cur, "url")
		p.section = str(obj(cur, "primary_tag"), "name")
		p.author = str(obj(cur, "primary_author"), "name")
	case str(prev, "status") == "published":
		p.action = actionUnpublish // post.unpublished
	default:
		p.action, p.reason = actionIgnore, fmt.Sprintf("the post is %s, not published", str(cur, "status"))
	}
	return p, p.check()
}

func parseWordPress(top map[string]any) (cmsPost, error) {
	post := top
	if o, ok := top["post"].(map[string]any); ok {
		post = o
	}
	id := first(str(post, "ID"), str(post, "id"), str(top, "post_id"), str(post, "post_id"))
	if id == "" {
		return cmsPost{}, errors.New("no post id: want a Ghost payload ({\"post\": {\"current\": ...}}) or a WordPress one (ID or post_id, post_title, post_content, post_status)")
	}
	p := cmsPost{
		articleID: "wp-" + id,
		title:     first(str(post, "post_title"), str(post, "title")),
		html:      first(str(post, "post_content"), str(post, "content")),
		url:       first(str(top, "post_permalink"), str(top, "permalink"), str(post, "link"), str(post, "post_url"), str(post, "permalink"), str(post, "url")),
		section:   first(str(top, "section"), str(post, "section"), str(top, "category"), firstString(top["categories"]), firstString(post["categories"]), firstTerm(top["taxonomies"])),
		author:    first(str(top, "author_name"), str(post, "author_name"), str(top, "post_author_name")),
	}
	action := strings.ToLower(first(str(top, "action"), str(top, "hook"), str(top, "event"), str(top, "trigger")))
	status := first(str(post, "post_status"), str(post, "status"))
	typ := first(str(post, "post_type"), str(post, "type"))
	switch {
	case typ != "" && typ != "post":
		p.action, p.reason = actionIgnore, fmt.Sprintf("post type %q is not narrated, only posts", typ)
	case strings.Contains(action, "delete") || strings.Contains(action, "trash") || strings.Contains(action, "unpublish"):
		p.action = actionUnpublish
	case status == "publish" || status == "" && strings.Contains(action, "publish"):
		p.action = actionNarrate
	case status == "trash" || status == "draft" || status == "pending" || status == "private":
		p.action = actionUnpublish // taken down: its narration must go too
	default:
		p.action, p.reason = actionIgnore, fmt.Sprintf("the post is %q, not published", status)
	}
	return p, p.check()
}

func (p cmsPost) check() error {
	if p.action == actionNarrate && strings.TrimSpace(p.html) == "" && p.url == "" {
		return fmt.Errorf("post %s is published but the payload has neither its content nor its URL", p.articleID)
	}
	if len(p.articleID) > 200 {
		return errors.New("the post id is over 190 characters")
	}
	return nil
}

// str returns a field as text: a string, a number, or a WordPress REST
// API {"rendered": ...} object.
func str(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return strings.TrimSpace(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case map[string]any:
		return str(v, "rendered")
	}
	return ""
}

func obj(m map[string]any, k string) map[string]any {
	o, _ := m[k].(map[string]any)
	return o
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// firstString returns the first name in a list of names (or of objects
// with a name), such as a post's categories.
func firstString(v any) string {
	list, _ := v.([]any)
	for _, e := range list {
		switch e := e.(type) {
		case string:
			return e
		case map[string]any:
			if n := str(e, "name"); n != "" {
				return n
			}
		}
	}
	return ""
}

// firstTerm returns the name of a post's first category in WP Webhooks'
// taxonomies object: {"category": {"politics": {"name": "Politics"}}}.
func firstTerm(v any) string {
	tax, _ := v.(map[string]any)
	cats, _ := tax["category"].(map[string]any)
	best := ""
	for slug := range cats {
		// Maps have no order; the alphabetically first slug keeps the answer stable.
		if n := str(obj(cats, slug), "name"); n != "" && (best == "" || slug < best) {
			best = slug
		}
	}
	if best == "" {
		return ""
	}
	return str(obj(cats, best), "name")
}
