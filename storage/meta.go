package storage

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidMeta is returned by Put for a header value that is not
// printable ASCII: such values cannot travel intact as HTTP headers through
// S3, and line breaks in them would forge headers.
var ErrInvalidMeta = errors.New("storage: invalid header value")

func validMeta(m Meta) error {
	for name, v := range map[string]string{
		"Content-Type":        m.ContentType,
		"Cache-Control":       m.CacheControl,
		"Content-Disposition": m.ContentDisposition,
	} {
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 || v[i] > 0x7e {
				return permanent(fmt.Errorf("%w: %s %q has byte %#x at %d (use ContentDisposition for non-ASCII file names)",
					ErrInvalidMeta, name, v, v[i], i))
			}
		}
	}
	return nil
}

// ContentDisposition returns a Content-Disposition value for kind
// ("attachment" or "inline") that offers filename under its own name in
// every client: an ASCII fallback in filename= and the exact UTF-8 name in
// filename* (RFC 6266, RFC 8187).
func ContentDisposition(kind, filename string) string {
	var ascii strings.Builder
	for _, r := range filename {
		switch {
		case r == '"' || r == '\\':
			ascii.WriteByte('_')
		case r < 0x20 || r == 0x7f:
			// dropped
		case r > 0x7e:
			ascii.WriteByte('_')
		default:
			ascii.WriteRune(r)
		}
	}
	v := kind + `; filename="` + ascii.String() + `"`
	if ascii.String() != filename {
		v += "; filename*=UTF-8''" + encodeRFC8187(filename)
	}
	return v
}

// encodeRFC8187 percent-encodes every byte outside RFC 8187's attr-char.
func encodeRFC8187(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
