package fetch

import "fmt"

// RefusedError says a URL was not fetched because policy forbids it. No
// connection was made to Addr (when set) or anything behind it.
type RefusedError struct {
	URL    string // the URL refused (after redirects, the hop refused)
	Addr   string // the address or host refused, if the refusal is about one
	Reason string
}

func (e *RefusedError) Error() string {
	if e.Addr != "" {
		return fmt.Sprintf("refused %s: %s: %s", e.URL, e.Addr, e.Reason)
	}
	return fmt.Sprintf("refused %s: %s", e.URL, e.Reason)
}

// StatusError is a fetch that reached the server and got a non-2xx answer.
type StatusError struct {
	URL    string
	Status int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("fetch %s: HTTP status %d", e.URL, e.Status)
}
