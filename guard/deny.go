package guard

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"net/url"
	"os"
	"strings"
)

//go:embed deny.txt
var builtinDeny []byte

// DenyList is the leakage guard for web evaluations: hosts and URL
// prefixes that publish benchmark answers (dataset hubs, benchmark
// mirrors). A nil *DenyList blocks nothing. It is immutable once parsed,
// so safe for concurrent use.
type DenyList struct {
	rules []denyRule
}

type denyRule struct {
	text string // as written, for reports
	host string // lowercased; matches itself and its subdomains
	path string // lowercased prefix at a "/" boundary; "" for the whole host
}

// DefaultDenyList is the built-in list (guard/deny.txt).
func DefaultDenyList() *DenyList {
	d, err := ParseDenyList(builtinDeny, "built-in deny-list")
	if err != nil {
		panic(err) // the embedded file is tested
	}
	return d
}

// ParseDenyList reads rules, one a line: HOST or HOST/PATH, a scheme
// allowed and ignored, "#" starting a comment; name labels errors.
func ParseDenyList(data []byte, name string) (*DenyList, error) {
	d := &DenyList{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		r, err := parseRule(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		d.rules = append(d.rules, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

func parseRule(line string) (denyRule, error) {
	s := strings.ToLower(line)
	for _, p := range []string{"https://", "http://"} {
		s = strings.TrimPrefix(s, p)
	}
	host, path, _ := strings.Cut(s, "/")
	host = strings.TrimSuffix(strings.TrimPrefix(host, "*."), ".")
	if host == "" || strings.ContainsAny(host, " \t*?:@[]") || !strings.Contains(host, ".") {
		return denyRule{}, fmt.Errorf("rule %q: want HOST or HOST/PATH (e.g. huggingface.co/datasets)", line)
	}
	if strings.ContainsAny(path, " \t") {
		return denyRule{}, fmt.Errorf("rule %q: a path may not hold spaces", line)
	}
	path = strings.TrimSuffix("/"+path, "/")
	return denyRule{text: line, host: host, path: path}, nil
}

// Merge returns a list with d's rules and o's.
func (d *DenyList) Merge(o *DenyList) *DenyList {
	out := &DenyList{}
	for _, l := range []*DenyList{d, o} {
		if l != nil {
			out.rules = append(out.rules, l.rules...)
		}
	}
	return out
}

// Len is the number of rules.
func (d *DenyList) Len() int {
	if d == nil {
		return 0
	}
	return len(d.rules)
}

// Blocks reports whether rawURL falls under a rule, and which. A URL that
// does not parse, or has no host, is not blocked (it cannot be fetched
// either).
func (d *DenyList) Blocks(rawURL string) (rule string, blocked bool) {
	if d == nil || len(d.rules) == 0 {
		return "", false
	}
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || u.Host == "" {
		return "", false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	path := strings.ToLower(u.EscapedPath())
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	for _, r := range d.rules {
		if host != r.host && !strings.HasSuffix(host, "."+r.host) {
			continue
		}
		if r.path == "" || path == r.path || strings.HasPrefix(path, r.path+"/") {
			return r.text, true
		}
	}
	return "", false
}

// LoadDenyList is the built-in list with the rules of file added (file
// "": the built-in list alone).
func LoadDenyList(file string) (*DenyList, error) {
	d := DefaultDenyList()
	if file == "" {
		return d, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("deny-list: %w", err)
	}
	extra, err := ParseDenyList(b, file)
	if err != nil {
		return nil, err
	}
	return d.Merge(extra), nil
}
