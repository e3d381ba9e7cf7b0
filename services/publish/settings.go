package publish

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// Feed is a publication's podcast settings. They are shared state of the
// deployment, not of a process: Config.Settings gives them to every
// rebuild, so any process, at any time, writes the same feed. Empty
// fields take the defaults Resolve fills in.
type Feed struct {
	// Title, Link and Description describe the podcast; Link is the
	// publication's home page.
	Title       string `json:"title,omitempty"`
	Link        string `json:"link,omitempty"`
	Description string `json:"description,omitempty"`
	// Language is a BCP 47 tag such as "en" or "en-GB". Default "en".
	Language string `json:"language,omitempty"`
	// Image is the URL of the podcast artwork: a square JPEG or PNG of
	// 1400 to 3000 pixels (CheckArtwork). Empty: a cover drawn for the
	// publication (Cover), published with the feeds.
	Image string `json:"image,omitempty"`
	// Category and Subcategory are Apple Podcasts category names; default
	// "News" and "Daily News".
	Category    string `json:"category,omitempty"`
	Subcategory string `json:"subcategory,omitempty"`
	Explicit    bool   `json:"explicit,omitempty"`
	// Author is the podcast's itunes:author, and each item's when the
	// narration names none. Default: Title.
	Author string `json:"author,omitempty"`
	// OwnerName and OwnerEmail are itunes:owner: the address Apple and
	// Spotify send ownership checks to. No default can stand in for it.
	OwnerName  string `json:"owner_name,omitempty"`
	OwnerEmail string `json:"owner_email,omitempty"`
	Copyright  string `json:"copyright,omitempty"`
	// MaxItems caps each feed, newest first. Default 100.
	MaxItems int `json:"max_items,omitempty"`
}

// DefaultPublication is the key of the publication that jobs naming none
// belong to: its settings govern feed.xml and the section and author feeds.
const DefaultPublication = "default"

// PublicationKey is the key of a publication's settings and feed: the
// default publication's for "", else a key made of the name (KeyFor).
func PublicationKey(name string) string {
	if strings.TrimSpace(name) == "" {
		return DefaultPublication
	}
	return KeyFor(strings.TrimSpace(name))
}

// Settings gives each publication's feed settings. Implementations keep
// them where every process sees the same (the pipeline keeps them in NATS).
type Settings interface {
	// FeedSettings returns the settings stored for a publication key, and
	// ErrNoSettings when none are.
	FeedSettings(ctx context.Context, publication string) (Feed, error)
}

// ErrNoSettings is returned by Settings for a publication with nothing
// stored.
var ErrNoSettings = errors.New("publish: no feed settings stored")

// IsZero reports whether no setting is given.
func (f Feed) IsZero() bool { return f == Feed{} }

// trimmed returns f with surrounding space removed from every field.
func (f Feed) trimmed() Feed {
	for _, s := range []*string{&f.Title, &f.Link, &f.Description, &f.Language, &f.Image, &f.Category,
		&f.Subcategory, &f.Author, &f.OwnerName, &f.OwnerEmail, &f.Copyright} {
		*s = strings.TrimSpace(*s)
	}
	return f
}

// Resolve returns the settings with every default filled in; name is the
// publication's title when none is set.
func (f Feed) Resolve(name string) Feed {
	f = f.trimmed()
	if f.Title == "" {
		f.Title = strings.TrimSpace(name)
	}
	if f.Title == "" {
		f.Title = DefaultTitle
	}
	if f.Language == "" {
		f.Language = "en"
	}
	if f.Category == "" {
		f.Category, f.Subcategory = "News", "Daily News"
	}
	if f.Author == "" {
		f.Author = f.Title
	}
	if f.OwnerName == "" {
		f.OwnerName = f.Author
	}
	if f.MaxItems == 0 {
		f.MaxItems = DefaultMaxItems
	}
	return f
}

// inherit is what a publication with nothing stored takes from the
// default publication: who owns it and how it is filed, not its name,
// description or artwork.
func (f Feed) inherit() Feed {
	return Feed{Link: f.Link, Language: f.Language, Category: f.Category, Subcategory: f.Subcategory,
		Explicit: f.Explicit, OwnerName: f.OwnerName, OwnerEmail: f.OwnerEmail, Copyright: f.Copyright, MaxItems: f.MaxItems}
}

// Validate reports settings that would publish a broken feed, one error
// per field, in words an editor can act on.
func (f Feed) Validate() error {
	f = f.trimmed()
	var errs []error
	if f.Language != "" && !langTag.MatchString(f.Language) {
		errs = append(errs, fmt.Errorf("language %q is not a language tag such as en or en-GB", f.Language))
	}
	if (f.Category != "" || f.Subcategory != "") && !ValidCategory(f.Category, f.Subcategory) {
		errs = append(errs, fmt.Errorf("%q / %q is not an Apple Podcasts category and subcategory (for example News / Daily News)", f.Category, f.Subcategory))
	}
	for name, u := range map[string]string{"link": f.Link, "image": f.Image} {
		if u != "" && !absoluteHTTP(u) {
			errs = append(errs, fmt.Errorf("%s %q is not an absolute http(s) URL", name, u))
		}
	}
	if f.OwnerEmail != "" {
		if a, err := mail.ParseAddress(f.OwnerEmail); err != nil || a.Address != f.OwnerEmail {
			errs = append(errs, fmt.Errorf("owner e-mail %q is not a plain e-mail address", f.OwnerEmail))
		}
	}
	if f.MaxItems < 0 {
		errs = append(errs, fmt.Errorf("feed item cap %d must be at least 1", f.MaxItems))
	}
	for name, s := range map[string]string{"title": f.Title, "author": f.Author, "owner name": f.OwnerName, "copyright": f.Copyright} {
		if len(s) > 255 {
			errs = append(errs, fmt.Errorf("%s is %d bytes; podcast directories take at most 255", name, len(s)))
		}
	}
	if len(f.Description) > 4000 {
		errs = append(errs, fmt.Errorf("description is %d bytes; podcast directories take at most 4,000", len(f.Description)))
	}
	return errors.Join(errs...)
}

// feedSettings returns the settings in force for a publication key, with
// defaults: what is stored, else (for the default publication) the
// configured seed, else what the default publication lends.
func (p *Publisher) feedSettings(ctx context.Context, key, name string) (Feed, error) {
	if p.cfg.Settings != nil {
		f, err := p.cfg.Settings.FeedSettings(ctx, key)
		switch {
		case err == nil:
			return f.Resolve(name), nil
		case !errors.Is(err, ErrNoSettings):
			return Feed{}, fmt.Errorf("publish: feed settings of %s: %w", key, err)
		}
	}
	if key == DefaultPublication {
		return p.cfg.Feed.Resolve(name), nil
	}
	def, err := p.feedSettings(ctx, DefaultPublication, "")
	if err != nil {
		return Feed{}, err
	}
	return def.inherit().Resolve(name), nil
}

// FeedSettings returns the settings in force for a publication (a name, or
// "" for the default one), defaults filled in.
func (p *Publisher) FeedSettings(ctx context.Context, publication string) (Feed, error) {
	key := PublicationKey(publication)
	name := publication
	if key == DefaultPublication {
		name = ""
	}
	return p.feedSettings(ctx, key, name)
}
