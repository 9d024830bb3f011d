package fetch

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// Policy says which address classes a client may connect to. The zero value
// is the safe default: public unicast only.
type Policy struct {
	// AllowLoopback permits 127.0.0.0/8 and ::1 (the simulated web, tests).
	AllowLoopback bool
	// AllowPrivate permits RFC 1918, CGNAT 100.64/10 and fc00::/7.
	// Dangerous: it opens the internal network to whoever writes the URLs.
	// Cloud-metadata, link-local, multicast and reserved ranges stay refused.
	AllowPrivate bool
}

// class is what an address is, for the refusal reason.
type class int

const (
	classPublic class = iota
	classLoopback
	classPrivate
	classForbidden // never allowed, whatever the policy
)

type prefixRule struct {
	p      netip.Prefix
	c      class
	reason string
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// metadataAddrs are cloud instance-metadata endpoints: named separately so
// the refusal says so, and refused even under AllowPrivate.
var metadataAddrs = map[netip.Addr]string{
	netip.MustParseAddr("169.254.169.254"): "cloud metadata address",
	netip.MustParseAddr("169.254.170.2"):   "cloud metadata address (ECS)",
	netip.MustParseAddr("100.100.100.200"): "cloud metadata address (Alibaba)",
	netip.MustParseAddr("192.0.0.192"):     "cloud metadata address (Oracle)",
	netip.MustParseAddr("fd00:ec2::254"):   "cloud metadata address (AWS IPv6)",
}

// v4Rules follow the IANA IPv4 special-purpose registry. Order matters only
// for the reason shown: the first match wins.
var v4Rules = []prefixRule{
	{mustPrefix("255.255.255.255/32"), classForbidden, "broadcast address"},
	{mustPrefix("0.0.0.0/8"), classForbidden, "unspecified/\"this network\" address"},
	{mustPrefix("127.0.0.0/8"), classLoopback, "loopback address"},
	{mustPrefix("10.0.0.0/8"), classPrivate, "private address (RFC 1918)"},
	{mustPrefix("172.16.0.0/12"), classPrivate, "private address (RFC 1918)"},
	{mustPrefix("192.168.0.0/16"), classPrivate, "private address (RFC 1918)"},
	{mustPrefix("100.64.0.0/10"), classPrivate, "shared CGNAT address (RFC 6598)"},
	{mustPrefix("169.254.0.0/16"), classForbidden, "link-local address"},
	{mustPrefix("192.0.0.0/24"), classForbidden, "IETF protocol assignment range"},
	{mustPrefix("192.0.2.0/24"), classForbidden, "documentation address (TEST-NET-1)"},
	{mustPrefix("198.51.100.0/24"), classForbidden, "documentation address (TEST-NET-2)"},
	{mustPrefix("203.0.113.0/24"), classForbidden, "documentation address (TEST-NET-3)"},
	{mustPrefix("198.18.0.0/15"), classForbidden, "benchmarking address (RFC 2544)"},
	{mustPrefix("192.88.99.0/24"), classForbidden, "6to4 relay anycast (deprecated)"},
	{mustPrefix("224.0.0.0/4"), classForbidden, "multicast address"},
	{mustPrefix("240.0.0.0/4"), classForbidden, "reserved address (240/4)"},
}

// v6Rules: anything outside 2000::/3 is refused afterwards as not global
// unicast, so only special ranges inside it and named classes are listed.
var v6Rules = []prefixRule{
	{mustPrefix("::/128"), classForbidden, "unspecified address"},
	{mustPrefix("::1/128"), classLoopback, "loopback address"},
	{mustPrefix("::/96"), classForbidden, "IPv4-compatible IPv6 address (deprecated)"},
	{mustPrefix("64:ff9b:1::/48"), classForbidden, "local-use NAT64 prefix"},
	{mustPrefix("100::/64"), classForbidden, "discard-only address"},
	{mustPrefix("2001:db8::/32"), classForbidden, "documentation address"},
	{mustPrefix("3fff::/20"), classForbidden, "documentation address"},
	{mustPrefix("2001:2::/48"), classForbidden, "benchmarking address"},
	{mustPrefix("2001:10::/28"), classForbidden, "ORCHID address (deprecated)"},
	{mustPrefix("2001:20::/28"), classForbidden, "ORCHIDv2 address"},
	{mustPrefix("2001::/32"), classForbidden, "Teredo address (embeds a hidden IPv4)"},
	{mustPrefix("fc00::/7"), classPrivate, "unique local address (fc00::/7)"},
	{mustPrefix("fe80::/10"), classForbidden, "link-local address"},
	{mustPrefix("fec0::/10"), classForbidden, "site-local address (deprecated)"},
	{mustPrefix("ff00::/8"), classForbidden, "multicast address"},
}

var (
	nat64WKP  = mustPrefix("64:ff9b::/96")
	sixToFour = mustPrefix("2002::/16")
	global6   = mustPrefix("2000::/3")
)

// classify returns the class of ip and, for anything not public, why.
// IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) are judged by
// the IPv4 address inside, so ::ffff:10.0.0.1 is as private as 10.0.0.1.
func classify(ip netip.Addr) (class, string) {
	ip = ip.WithZone("")
	if r, ok := metadataAddrs[ip]; ok {
		return classForbidden, r
	}
	if ip.Is4() {
		for _, r := range v4Rules {
			if r.p.Contains(ip) {
				return r.c, r.reason
			}
		}
		return classPublic, ""
	}
	if ip.Is4In6() {
		c, why := classify(ip.Unmap())
		return c, wrapReason("IPv4-mapped IPv6 of "+ip.Unmap().String(), why)
	}
	b := ip.As16()
	if nat64WKP.Contains(ip) {
		v4 := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		c, why := classify(v4)
		return c, wrapReason("NAT64 address of "+v4.String(), why)
	}
	if sixToFour.Contains(ip) {
		v4 := netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		c, why := classify(v4)
		return c, wrapReason("6to4 address of "+v4.String(), why)
	}
	for _, r := range v6Rules {
		if r.p.Contains(ip) {
			return r.c, r.reason
		}
	}
	if !global6.Contains(ip) {
		return classForbidden, "not a global unicast IPv6 address"
	}
	return classPublic, ""
}

func wrapReason(form, why string) string {
	if why == "" {
		return ""
	}
	return form + ": " + why
}

// Check returns "" when p permits connecting to ip, else the reason it is
// refused.
func (p Policy) Check(ip netip.Addr) string {
	c, why := classify(ip)
	switch c {
	case classPublic:
		return ""
	case classLoopback:
		if p.AllowLoopback {
			return ""
		}
		return why + " (loopback not allowed)"
	case classPrivate:
		if p.AllowPrivate {
			return ""
		}
		return why
	}
	return why
}

// blockedNames are refused before any lookup: metadata service names and
// the localhost family (RFC 6761), which must never reach a resolver that
// might answer with something else.
var blockedNames = map[string]string{
	"metadata.google.internal":   "cloud metadata host name",
	"metadata":                   "cloud metadata host name",
	"instance-data":              "cloud metadata host name",
	"instance-data.ec2.internal": "cloud metadata host name",
}

// Host is a URL host after normalisation: either an IP literal or a
// lower-case ASCII DNS name.
type Host struct {
	Name string     // ASCII, lower case, no trailing dot; "" for literals
	IP   netip.Addr // valid when the host is an address literal
}

func (h Host) String() string {
	if h.IP.IsValid() {
		return h.IP.String()
	}
	return h.Name
}

// ParseHost normalises a URL host the way a browser would before DNS:
// IDNA mapping (full-width digits and dots become ASCII), then the WHATWG
// IPv4 parser, which accepts inet_aton forms: 2130706433, 0177.0.0.1, 0x7f.1
// and 127.1 are all 127.0.0.1. Anything a browser would reject, and numeric
// forms that are ambiguous, is an error, so no other component can read the
// host differently.
func ParseHost(host string) (Host, error) {
	if host == "" {
		return Host{}, fmt.Errorf("empty host")
	}
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return Host{}, fmt.Errorf("host %q: unterminated IPv6 literal", host)
		}
		ip, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !ip.Is6() {
			return Host{}, fmt.Errorf("host %q: bad IPv6 literal", host)
		}
		if ip.Zone() != "" {
			return Host{}, fmt.Errorf("host %q: IPv6 zone not allowed", host)
		}
		return Host{IP: ip}, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() {
		if ip.Zone() != "" {
			return Host{}, fmt.Errorf("host %q: IPv6 zone not allowed", host)
		}
		return Host{IP: ip}, nil // url.URL.Hostname strips the brackets
	}
	ascii, err := idna.Lookup.ToASCII(host)
	if err != nil {
		// idna.Lookup rejects underscores and some legal-in-DNS labels;
		// fall back to a strict ASCII check rather than refusing outright.
		ascii = strings.ToLower(host)
		if !isDNSName(strings.TrimSuffix(ascii, ".")) {
			return Host{}, fmt.Errorf("host %q: %w", host, err)
		}
	}
	ascii = strings.ToLower(ascii)
	if ip, ok, err := parseWHATWGv4(ascii); err != nil {
		return Host{}, fmt.Errorf("host %q: %w", host, err)
	} else if ok {
		return Host{IP: ip}, nil
	}
	name := strings.TrimSuffix(ascii, ".")
	if !isDNSName(name) {
		return Host{}, fmt.Errorf("host %q: not a valid DNS name", host)
	}
	return Host{Name: name}, nil
}

func isDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// parseWHATWGv4 implements the URL Standard's IPv4 parser. ok is false when
// the host is a domain name; err is set when it ends in a number but is not
// a valid address (browsers refuse those, and so do we).
func parseWHATWGv4(host string) (netip.Addr, bool, error) {
	parts := strings.Split(host, ".")
	if parts[len(parts)-1] == "" && len(parts) > 1 {
		parts = parts[:len(parts)-1]
	}
	last := parts[len(parts)-1]
	if _, ok := parseV4Number(last); !ok && !isDecimal(last) {
		return netip.Addr{}, false, nil
	}
	if len(parts) > 4 {
		return netip.Addr{}, false, fmt.Errorf("numeric host with %d parts", len(parts))
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, ok := parseV4Number(p)
		if !ok {
			return netip.Addr{}, false, fmt.Errorf("bad IPv4 part %q", p)
		}
		nums[i] = n
	}
	for _, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, false, fmt.Errorf("IPv4 part %d out of range", n)
		}
	}
	lastN := nums[len(nums)-1]
	if lastN >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, false, fmt.Errorf("IPv4 last part %d out of range", lastN)
	}
	v := lastN
	for i, n := range nums[:len(nums)-1] {
		v += n << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true, nil
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseV4Number parses one part: 0x-prefixed hex, 0-prefixed octal, or
// decimal. "0x" alone is 0, as in the URL Standard.
func parseV4Number(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := 10
	switch {
	case len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X"):
		s, base = s[2:], 16
		if s == "" {
			return 0, true
		}
	case len(s) >= 2 && s[0] == '0':
		s, base = s[1:], 8
	}
	if len(s) > 32 {
		return 0, false // far out of range; avoids overflow questions
	}
	n, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// checkName refuses names that must never be resolved.
func checkName(name string, p Policy) string {
	if why, ok := blockedNames[name]; ok {
		return why
	}
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		if p.AllowLoopback {
			return ""
		}
		return "localhost name (loopback not allowed)"
	}
	return ""
}
