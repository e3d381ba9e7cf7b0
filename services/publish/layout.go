package publish

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/fault"
)

// Feed keys, at the root of the store.
const (
	// FeedKey is the whole publication's feed.
	FeedKey = "feed.xml"
	// SectionFeeds and AuthorFeeds hold one feed per section and author,
	// named by slug: feeds/section/politics.xml.
	SectionFeeds = "feeds/section/"
	AuthorFeeds  = "feeds/author/"
	// PublicationFeeds holds one feed per named publication, by its key
	// (PublicationKey): feeds/publication/daily.xml.
	PublicationFeeds = "feeds/publication/"
	// Covers holds the covers drawn for publications without artwork,
	// named by a hash of what they show.
	Covers = "covers/"
)

// ManifestName is the file name of a narration's manifest in its folder.
const ManifestName = "manifest.json"

// maxKeyLen bounds a narration key, so that every key built from it stays
// far below storage's 1,024-byte limit.
const maxKeyLen = 100

// ValidKey reports whether key can name a narration: 1 to 100 characters
// of [A-Za-z0-9_-], safe in storage keys, URLs and file names alike.
func ValidKey(key string) error {
	if key == "" || len(key) > maxKeyLen {
		return fmt.Errorf("%w %q: must be 1 to %d characters", ErrInvalidKey, key, maxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if !keyByte(key[i]) {
			return fmt.Errorf("%w %q: only letters A-Z and a-z, digits, '_' and '-' may appear", ErrInvalidKey, key)
		}
	}
	return nil
}

func keyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// KeyFor returns a narration key for a CMS article id: the id itself when
// it is already a valid key of at most 64 characters, otherwise a readable
// slug of it followed by '-' and 12 hex digits of a hash of the whole id.
// Distinct ids never share a key: an id that is itself of that derived
// form (ends in '-' and 12 lower-case hex digits) is hashed too, so no id
// can name another's derived key, and the same id always gets the same key.
func KeyFor(articleID string) string {
	if len(articleID) <= 64 && ValidKey(articleID) == nil && !derived(articleID) {
		return articleID
	}
	sum := sha256.Sum256([]byte(articleID))
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(articleID) {
		if r < utf8.RuneSelf && keyByte(byte(r)) && r != '-' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	slug := strings.Trim(b.String(), "-")
	if slug != "" {
		slug += "-"
	}
	return slug + hex.EncodeToString(sum[:hashLen/2])
}

// hashLen is how many hex digits of the id's hash a derived key ends in.
const hashLen = 12

// derived reports whether key has the form KeyFor gives an id it hashes:
// it ends in hashLen lower-case hex digits, after a '-' or alone.
func derived(key string) bool {
	n := len(key)
	if n < hashLen || (n > hashLen && key[n-hashLen-1] != '-') {
		return false
	}
	for i := n - hashLen; i < n; i++ {
		if c := key[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Slug turns a section or author name into the name of its feed: lower
// case letters and digits of any script, words joined by '-', at most 64
// characters. It returns "" for a name with no letter or digit.
func Slug(name string) string {
	var b strings.Builder
	n := 0
	dash := false
	for _, r := range strings.ToLower(name) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
				n++
			}
			b.WriteRune(r)
			n++
			dash = false
		} else {
			dash = true
		}
		if n >= 64 {
			break
		}
	}
	return b.String()
}

// SectionFeedKey returns the key of a section's feed.
func SectionFeedKey(section string) string { return SectionFeeds + Slug(section) + ".xml" }

// AuthorFeedKey returns the key of an author's feed.
func AuthorFeedKey(author string) string { return AuthorFeeds + Slug(author) + ".xml" }

// ManifestKey returns the key of the manifest of narration key under prefix
// (Config.Prefix).
func ManifestKey(prefix, key string) string { return prefix + "/" + key + "/" + ManifestName }

// dir is the folder holding every file of one narration.
func (p *Publisher) dir(key string) string { return p.cfg.Prefix + "/" + key + "/" }

// keyOf returns the narration key a stored key belongs to, if any.
func (p *Publisher) keyOf(storeKey string) (string, bool) {
	rest, ok := strings.CutPrefix(storeKey, p.cfg.Prefix+"/")
	if !ok {
		return "", false
	}
	key, _, ok := strings.Cut(rest, "/")
	return key, ok && ValidKey(key) == nil
}

// hashedName names a file by its content: 16 hex digits (64 bits) of its
// SHA-256 and an extension.
func hashedName(sha string, ext string) string { return sha[:16] + ext }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fileName returns a readable download name for a narration's file: the
// title without characters file systems refuse, or the key.
func fileName(title, key, ext string) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range title {
		switch {
		case r < 0x20 || r == 0x7f || strings.ContainsRune(`/\:*?"<>|`, r) || unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		if n++; n >= 80 {
			break
		}
	}
	name := strings.Trim(b.String(), " .")
	if name == "" {
		name = key
	}
	return name + ext
}

// permanent marks an error in the caller's input.
func permanent(err error) error { return fault.Permanent(err) }
