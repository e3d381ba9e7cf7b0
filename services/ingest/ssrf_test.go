package ingest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/fault"
)

// hosts is a static name table standing in for DNS, which this test
// environment has none of: a name maps to the answers of successive
// lookups (the last repeats), so a name can change its answer between the
// check and the connection as a rebinding attack does.
type hosts struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr
	lookups map[string]int
}

func newHosts(m map[string][]string) *hosts {
	h := &hosts{answers: map[string][][]netip.Addr{}, lookups: map[string]int{}}
	for name, answers := range m {
		for _, ans := range answers {
			var addrs []netip.Addr
			for _, a := range strings.Split(ans, ",") {
				addrs = append(addrs, netip.MustParseAddr(a))
			}
			h.answers[name] = append(h.answers[name], addrs)
		}
	}
	return h
}

func (h *hosts) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	answers, ok := h.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	n := h.lookups[host]
	h.lookups[host]++
	var out []netip.Addr
	for _, a := range answers[min(n, len(answers)-1)] {
		if network == "ip4" && !a.Is4() || network == "ip6" && !a.Is6() {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

func TestSpecialAddresses(t *testing.T) {
	for _, tc := range []struct {
		addr, want string
	}{
		{"127.0.0.1", "loopback"},
		{"127.45.6.7", "loopback"},
		{"10.0.0.1", "private"},
		{"10.255.255.255", "private"},
		{"172.16.5.4", "private"},
		{"172.31.0.1", "private"},
		{"192.168.1.1", "private"},
		{"169.254.169.254", "cloud metadata"},
		{"169.254.170.2", "cloud metadata"},
		{"169.254.1.1", "link-local"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.100.100.200", "cloud metadata"},
		{"168.63.129.16", "cloud metadata"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"239.1.2.3", "multicast"},
		{"255.255.255.255", "reserved"},
		{"198.18.0.1", "benchmarking"},
		{"::1", "loopback"},
		{"::", "unspecified"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"fc00::1", "private"},
		{"fd12:3456::1", "private"},
		{"fd00:ec2::254", "cloud metadata"},
		{"ff02::1", "multicast"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:10.0.0.1", "private"},
		{"::ffff:169.254.169.254", "cloud metadata"},
		{"::127.0.0.1", "loopback"},
		{"64:ff9b::a00:1", "private"},            // NAT64 of 10.0.0.1
		{"64:ff9b::a9fe:a9fe", "cloud metadata"}, // NAT64 of 169.254.169.254
		{"2002:7f00:1::", "loopback"},            // 6to4 of 127.0.0.1
		{"2002:c0a8:101::1", "private"},          // 6to4 of 192.168.1.1
		{"2001:db8::1", "documentation"},

		{"93.184.215.14", ""},
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"172.32.0.1", ""},  // just past 172.16.0.0/12
		{"100.128.0.1", ""}, // just past 100.64.0.0/10
		{"2606:4700:4700::1111", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", ""},  // 6to4 of 8.8.8.8
	} {
		t.Run(tc.addr, func(t *testing.T) {
			if got := Special(netip.MustParseAddr(tc.addr)); got != tc.want {
				t.Errorf("Special(%s) = %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
}

// target is a test server that would answer if reached; hits counts the
// requests that got through.
type target struct {
	*httptest.Server
	port string
	hits atomic.Int32
}

func startTarget(t *testing.T, h http.Handler) *target {
	t.Helper()
	tg := &target{}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.hits.Add(1)
		if h != nil {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "internal secret")
	}))
	t.Cleanup(tg.Close)
	_, tg.port, _ = net.SplitHostPort(tg.Listener.Addr().String())
	return tg
}

func TestGuardRefusesNonPublicAddresses(t *testing.T) {
	secret := startTarget(t, nil)
	port := secret.port
	// A second loopback listener on IPv6, when the host has it, so that
	// [::1] is refused although something answers there.
	if ln, err := net.Listen("tcp", "[::1]:"+port); err == nil {
		srv := &http.Server{Handler: secret.Config.Handler}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}

	// news.example is allow-listed by name (so it is fetched although it
	// lives on loopback here) and redirects wherever ?to= says.
	news := startTarget(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<p>news</p>")
	}))
	dns := newHosts(map[string][]string{
		"news.example":             {"127.0.0.1"},
		"intranet.example":         {"10.0.0.5"},
		"localhost.example":        {"127.0.0.1"},
		"v6.example":               {"::1"},
		"metadata.google.internal": {"169.254.169.254"},
		"mixed.example":            {"127.0.0.1,10.9.9.9"},
		// public when vetted, loopback when connected: DNS rebinding
		"rebind.example": {"93.184.215.14", "127.0.0.1"},
	})
	f := New(Config{Timeout: 5 * time.Second, Guard: MustGuard(GuardConfig{Allow: []string{"news.example"}, Resolver: dns})})

	newsURL := "http://news.example:" + news.port
	for _, tc := range []struct {
		name, url, addr string // addr: the refused address the error names
	}{
		{"loopback address", "http://127.0.0.1:" + port + "/", "127.0.0.1"},
		{"loopback by name", "http://localhost.example:" + port + "/", "127.0.0.1"},
		{"IPv6 loopback", "http://[::1]:" + port + "/", "::1"},
		{"IPv6 loopback by name", "http://v6.example:" + port + "/", "::1"},
		{"private 10.x", "http://10.1.2.3/", "10.1.2.3"},
		{"private by name", "http://intranet.example/", "10.0.0.5"},
		{"metadata", "http://169.254.169.254/latest/meta-data/", "169.254.169.254"},
		{"metadata by name", "http://metadata.google.internal/computeMetadata/v1/", "169.254.169.254"},
		{"IPv6 metadata", "http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254"},
		{"mapped IPv4 loopback", "http://[::ffff:127.0.0.1]:" + port + "/", "127.0.0.1"},
		{"decimal loopback", "http://2130706433:" + port + "/", ""}, // not an address Go parses: a name with no answer
		{"every answer private", "http://mixed.example:" + port + "/", "127.0.0.1"},
		{"DNS rebinding", "http://rebind.example:" + port + "/", "127.0.0.1"},
		{"redirect to loopback", newsURL + "/?to=http://127.0.0.1:" + port + "/admin", "127.0.0.1"},
		{"redirect to IPv6 loopback", newsURL + "/?to=http://[::1]:" + port + "/admin", "::1"},
		{"redirect to a name on loopback", newsURL + "/?to=http://localhost.example:" + port + "/admin", "127.0.0.1"},
		{"redirect to metadata", newsURL + "/?to=http://169.254.169.254/latest/meta-data/", "169.254.169.254"},
		{"redirect to private", newsURL + "/?to=http://10.0.0.1/", "10.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := secret.hits.Load()
			_, err := f.Fetch(context.Background(), tc.url)
			if err == nil {
				t.Fatal("fetched; want a refusal")
			}
			if secret.hits.Load() != before {
				t.Errorf("the refused server was reached")
			}
			if tc.addr == "" {
				return // refused for another reason; only that nothing was reached matters
			}
			var be *BlockedError
			if !errors.As(err, &be) || !errors.Is(err, ErrBlocked) {
				t.Fatalf("err = %v, want a BlockedError", err)
			}
			if be.Addr.String() != tc.addr {
				t.Errorf("refused %s, want %s", be.Addr, tc.addr)
			}
			if !fault.IsPermanent(err) {
				t.Errorf("a refusal must be permanent: retrying cannot change it (%v)", err)
			}
			msg := err.Error()
			for _, want := range []string{tc.addr, be.Reason, "NARRATOR_FETCH_ALLOW"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not mention %q", msg, want)
				}
			}
		})
	}

	// The rebinding case is refused at connect time: the URL check saw the
	// public answer, the dialer the loopback one.
	if n := dns.lookups["rebind.example"]; n < 2 {
		t.Errorf("rebind.example looked up %d time(s); the connection must resolve it again", n)
	}

	// The allow-listed host itself is fetched, and may redirect within itself.
	page, err := f.Fetch(context.Background(), newsURL+"/?to=/story")
	if err != nil {
		t.Fatalf("allow-listed host: %v", err)
	}
	if !strings.Contains(string(page.Body), "news") || !strings.HasSuffix(page.URL, "/story") {
		t.Errorf("allow-listed host: got %q from %s", page.Body, page.URL)
	}
}

func TestDefaultFetcherIsGuarded(t *testing.T) {
	tg := startTarget(t, nil)
	_, err := New(Config{}).Fetch(context.Background(), tg.URL)
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("ingest.New(Config{}) fetched from %s: err = %v; the zero config must refuse loopback", tg.URL, err)
	}
	if tg.hits.Load() != 0 {
		t.Error("the server was reached")
	}
}

func TestAllowList(t *testing.T) {
	tg := startTarget(t, nil)
	dns := newHosts(map[string][]string{"cms.internal": {"127.0.0.1"}, "a.corp.internal": {"127.0.0.1"}, "other.example": {"127.0.0.1"}})
	for _, tc := range []struct {
		name  string
		allow []string
		host  string
		ok    bool
	}{
		{"address", []string{"127.0.0.1"}, "127.0.0.1", true},
		{"network", []string{"127.0.0.0/8"}, "127.0.0.1", true},
		{"another network", []string{"10.0.0.0/8"}, "127.0.0.1", false},
		{"host name", []string{"cms.internal"}, "cms.internal", true},
		{"host name in capitals", []string{"CMS.Internal"}, "cms.internal", true},
		{"domain wildcard", []string{"*.internal"}, "a.corp.internal", true},
		{"other name on an allowed host's address", []string{"cms.internal"}, "other.example", false},
		{"address allows every name on it", []string{"127.0.0.1/32"}, "other.example", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := NewGuard(GuardConfig{Allow: tc.allow, Resolver: dns})
			if err != nil {
				t.Fatal(err)
			}
			_, err = New(Config{Guard: g}).Fetch(context.Background(), "http://"+tc.host+":"+tg.port+"/")
			if tc.ok && err != nil {
				t.Errorf("allow %v: %s refused: %v", tc.allow, tc.host, err)
			}
			if !tc.ok && !errors.Is(err, ErrBlocked) {
				t.Errorf("allow %v: %s: err = %v, want a refusal", tc.allow, tc.host, err)
			}
		})
	}

	for _, bad := range []string{"", "10.0.0.0/33", "http://cms.internal", "cms.internal:8080", "not a host", "*.", "10.0.0.0/8/8"} {
		if _, err := NewGuard(GuardConfig{Allow: []string{bad}}); err == nil {
			t.Errorf("allow-list entry %q accepted", bad)
		}
	}
	if got := SplitList(" cms.internal, 10.0.0.0/8 ,*.corp\n::1 "); strings.Join(got, "|") != "cms.internal|10.0.0.0/8|*.corp|::1" {
		t.Errorf("SplitList = %q", got)
	}
}

// TestControlRefusesAtTheSocket checks the last line of defence on its
// own: a plain dialer with the guard's Control function cannot connect to
// loopback, whatever resolved the name.
func TestControlRefusesAtTheSocket(t *testing.T) {
	tg := startTarget(t, nil)
	g := MustGuard(GuardConfig{})
	d := &net.Dialer{Control: g.Control, Timeout: 5 * time.Second}
	conn, err := d.DialContext(context.Background(), "tcp", tg.Listener.Addr().String())
	if err == nil {
		conn.Close()
		t.Fatal("connected to loopback through the guard's Control")
	}
	if !errors.Is(err, ErrBlocked) {
		t.Errorf("err = %v, want ErrBlocked", err)
	}
	allowed := MustGuard(GuardConfig{Allow: []string{"127.0.0.1"}})
	d.Control = allowed.Control
	conn, err = d.DialContext(context.Background(), "tcp", tg.Listener.Addr().String())
	if err != nil {
		t.Fatalf("allow-listed address refused: %v", err)
	}
	conn.Close()
}

// FuzzSpecialMapped checks that an IPv4 address and its IPv4-mapped IPv6
// form are judged alike, so that writing an address as [::ffff:a.b.c.d]
// cannot slip past the guard.
func FuzzSpecialMapped(f *testing.F) {
	for _, s := range [][4]byte{{127, 0, 0, 1}, {10, 0, 0, 1}, {169, 254, 169, 254}, {8, 8, 8, 8}, {100, 64, 1, 1}} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, a, b, c, d byte) {
		v4 := netip.AddrFrom4([4]byte{a, b, c, d})
		mapped := netip.AddrFrom16(v4.As16())
		if Special(v4) != Special(mapped) {
			t.Errorf("%s is %q but %s is %q", v4, Special(v4), mapped, Special(mapped))
		}
		nat := netip.AddrFrom16([16]byte{0, 0x64, 0xff, 0x9b, 10: 0, 11: 0, 12: a, 13: b, 14: c, 15: d})
		if Special(v4) != "" && Special(nat) == "" {
			t.Errorf("%s is %q but its NAT64 form %s passes", v4, Special(v4), nat)
		}
	})
}

// FuzzAllowList feeds arbitrary allow-list entries to the parser: it must
// never panic, and an entry it takes as an address must allow exactly it.
func FuzzAllowList(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "cms.internal", "*.corp", "::1", "fd00::/8", "[::1]", "a..b", "1.2.3.4/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, entry string) {
		g, err := NewGuard(GuardConfig{Allow: []string{entry}})
		if err != nil {
			return
		}
		if a, err := netip.ParseAddr(strings.Trim(strings.TrimSpace(entry), "[]")); err == nil && !strings.Contains(entry, "/") {
			if g.Check("", a) != nil {
				t.Errorf("allow-listed address %s refused", a)
			}
		}
	})
}
