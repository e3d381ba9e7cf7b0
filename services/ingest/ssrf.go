package ingest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrBlocked is wrapped by errors about URLs whose host is an address a
// server fetching on a stranger's behalf must not reach: loopback, private
// networks, link-local, cloud metadata services and the like.
var ErrBlocked = errors.New("ingest: address not allowed")

// BlockedError says which host and address a fetch refused, and why. It
// matches ErrBlocked and ErrURL with errors.Is.
type BlockedError struct {
	Host   string     // as written in the URL
	Addr   netip.Addr // what it resolved to
	Reason string     // "loopback", "private", "cloud metadata", ...
}

// Error says what was refused and how to allow it.
func (e *BlockedError) Error() string {
	what := e.Addr.String()
	if e.Host != "" && e.Host != what {
		what = e.Host + " resolves to " + what + ","
	}
	return fmt.Sprintf("ingest: refused to fetch from %s a %s address: narrator fetches only from public addresses "+
		"(to fetch from it anyway, add the host or address to the fetch allow-list, NARRATOR_FETCH_ALLOW)", what, e.Reason)
}

// Unwrap makes a BlockedError match ErrBlocked and ErrURL.
func (e *BlockedError) Unwrap() []error { return []error{ErrBlocked, ErrURL} }

// Resolver looks up a host's addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// GuardConfig sets what a Guard lets through.
type GuardConfig struct {
	// Allow lists hosts and networks that may be fetched although they are
	// not public: a host name ("cms.internal"), every name under a domain
	// ("*.internal"), an address ("10.1.2.3", "::1") or a network in CIDR
	// notation ("10.20.0.0/16", "fd00:1234::/32").
	Allow []string
	// Resolver looks up host names (default net.DefaultResolver).
	Resolver Resolver
	// DialTimeout bounds one connection attempt (default 10s).
	DialTimeout time.Duration
}

// Guard refuses connections to non-public addresses. It checks the
// addresses a host name resolves to at connect time, in the dialer, so a
// name that resolves to a public address when vetted and to a private one
// when connected (DNS rebinding) is still refused, and it vets every
// redirect target the same way. It is safe for concurrent use.
type Guard struct {
	nets     []netip.Prefix
	hosts    map[string]bool
	suffixes []string // ".internal" for "*.internal"
	resolver Resolver
	guarded  *net.Dialer
	trusted  *net.Dialer // for allow-listed host names, whatever they resolve to
}

// NewGuard returns a guard, or an error naming the allow-list entries it
// cannot use.
func NewGuard(cfg GuardConfig) (*Guard, error) {
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	g := &Guard{hosts: map[string]bool{}, resolver: cfg.Resolver}
	var errs []error
	for _, raw := range cfg.Allow {
		if err := g.allow(strings.TrimSpace(raw)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	g.guarded = &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second, Control: g.Control}
	g.trusted = &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	return g, nil
}

// MustGuard is NewGuard for allow-lists known to be valid; it panics
// otherwise.
func MustGuard(cfg GuardConfig) *Guard {
	g, err := NewGuard(cfg)
	if err != nil {
		panic(err)
	}
	return g
}

// SplitList splits an allow-list written as one string, entries separated
// by commas or spaces (NARRATOR_FETCH_ALLOW="cms.internal, 10.20.0.0/16").
func SplitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

func (g *Guard) allow(e string) error {
	switch {
	case e == "":
		return errors.New("ingest: empty fetch allow-list entry")
	case strings.Contains(e, "/"):
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return fmt.Errorf("ingest: fetch allow-list entry %q: not a network in CIDR notation (like 10.20.0.0/16) nor a host name", e)
		}
		g.nets = append(g.nets, p.Masked())
		return nil
	}
	if a, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
		g.nets = append(g.nets, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		return nil
	}
	name, wildcard := strings.CutPrefix(strings.ToLower(strings.TrimSuffix(e, ".")), "*.")
	if !validHostname(name) {
		return fmt.Errorf("ingest: fetch allow-list entry %q: want a host name (cms.internal), a domain (*.internal), an address or a CIDR network, without scheme or port", e)
	}
	if wildcard {
		g.suffixes = append(g.suffixes, "."+name)
	} else {
		g.hosts[name] = true
	}
	return nil
}

func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// hostAllowed reports whether a host name is on the allow-list.
func (g *Guard) hostAllowed(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if g.hosts[host] {
		return true
	}
	for _, s := range g.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// Check returns a *BlockedError for an address that is not public and not
// allow-listed, and nil for one that may be fetched.
func (g *Guard) Check(host string, a netip.Addr) error {
	a = a.Unmap().WithZone("")
	for _, p := range g.nets {
		if p.Contains(a) {
			return nil
		}
	}
	if reason := Special(a); reason != "" {
		return &BlockedError{Host: host, Addr: a, Reason: reason}
	}
	return nil
}

// CheckURL vets a URL before it is requested or a redirect to it followed:
// http or https, and a host that resolves only to addresses that may be
// fetched. The connection is checked again when it is made.
func (g *Guard) CheckURL(ctx context.Context, u *url.URL) error {
	if err := checkScheme(u); err != nil {
		return err
	}
	host := u.Hostname()
	if g.hostAllowed(host) {
		return nil
	}
	addrs, err := g.lookup(ctx, "ip", host)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if err := g.Check(host, a); err != nil {
			return err
		}
	}
	return nil
}

// lookup resolves a host, or parses it when it is an address.
func (g *Guard) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	addrs, err := g.resolver.LookupNetIP(ctx, network, host)
	if err != nil {
		return nil, fmt.Errorf("ingest: look up %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("ingest: look up %s: no addresses", host)
	}
	return addrs, nil
}

// DialContext connects to address ("host:port") after resolving the host
// and refusing the addresses Check refuses; it dials the addresses it
// vetted, never the name again, so the answer it checked is the one it
// connects to.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("ingest: dial %s: %w", address, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("ingest: dial %s: bad port", address)
	}
	ipNet := "ip"
	switch network {
	case "tcp4":
		ipNet = "ip4"
	case "tcp6":
		ipNet = "ip6"
	}
	addrs, err := g.lookup(ctx, ipNet, host)
	if err != nil {
		return nil, err
	}
	dialer := g.guarded
	if g.hostAllowed(host) {
		dialer = g.trusted
	}
	var refused, failed []error
	for _, a := range addrs {
		if dialer == g.guarded {
			if err := g.Check(host, a); err != nil {
				refused = append(refused, err)
				continue
			}
		}
		conn, err := dialer.DialContext(ctx, network, netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		failed = append(failed, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(failed) == 0 && len(refused) > 0 {
		return nil, refused[0]
	}
	return nil, errors.Join(failed...)
}

// Control is a net.Dialer Control function that refuses to connect a
// socket to an address Check refuses. DialContext resolves and vets names
// itself; Control is the last word, at the socket, whatever path led there.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot vet address %q", ErrBlocked, address)
	}
	return g.Check("", ap.Addr())
}

// Transport returns an HTTP transport whose every connection goes through
// the guard. It uses no proxy: a proxy would resolve and connect on its own,
// out of the guard's sight.
func (g *Guard) Transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = g.DialContext
	return tr
}

// special lists the ranges refused beyond what netip classifies itself,
// metadata endpoints first so that the reason names them.
var special = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("169.254.169.254/32"), "cloud metadata"}, // AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean
	{netip.MustParsePrefix("169.254.170.2/32"), "cloud metadata"},   // AWS ECS task metadata
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata"},  // AWS IMDS over IPv6
	{netip.MustParsePrefix("100.100.100.200/32"), "cloud metadata"}, // Alibaba Cloud
	{netip.MustParsePrefix("168.63.129.16/32"), "cloud metadata"},   // Azure wire server, a public address
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},             // "this network"; 0.0.0.0 reaches the local host
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},   // RFC 6598 shared address space
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol"},        // RFC 6890
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},        // TEST-NET-1
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},     // TEST-NET-2
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},      // TEST-NET-3
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},        // RFC 2544
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},              // and the broadcast address
	{netip.MustParsePrefix("100::/64"), "discard"},                  // RFC 6666
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},       // RFC 3849
	{netip.MustParsePrefix("fec0::/10"), "site-local"},              // deprecated, still routed inside some networks
	{netip.MustParsePrefix("2001::/32"), "Teredo tunnel"},           // hides an IPv4 address
	{netip.MustParsePrefix("64:ff9b:1::/48"), "private NAT64"},      // RFC 8215
	{netip.MustParsePrefix("::ffff:0:0:0/96"), "IPv4-translated"},   // RFC 2765 SIIT
}

// Special names the kind of a non-public address ("loopback", "private",
// "link-local", "cloud metadata", ...), or returns "" for a public one.
// IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4)
// are judged by that address.
func Special(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if !a.IsValid() {
		return "invalid"
	}
	for _, s := range special {
		if s.prefix.Contains(a) {
			return s.reason
		}
	}
	switch {
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast"
	}
	if v4, ok := embeddedV4(a); ok {
		if r := Special(v4); r != "" {
			return r
		}
	}
	return ""
}

// embeddedV4 returns the IPv4 address inside an IPv4-compatible
// (::a.b.c.d), NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address.
func embeddedV4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case [12]byte(b[:12]) == [12]byte{}:
		return netip.AddrFrom4([4]byte(b[12:])), true
	case nat64.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:])), true
	case b[0] == 0x20 && b[1] == 0x02:
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96")
