package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/sleuth-research/sleuth/web"
	"github.com/sleuth-research/sleuth/world"
)

// Serve a small world on loopback and search it as a SearXNG client would.
func ExampleNew() {
	w, err := world.Generate(world.Config{Seed: 1, Entities: 100, Questions: 100})
	if err != nil {
		panic(err)
	}
	site, err := web.New(w, web.Config{}) // no slow-page delay, temporary index
	if err != nil {
		panic(err)
	}
	defer site.Close()
	srv := httptest.NewServer(site)
	defer srv.Close()

	hop := w.Questions[0].Chain[0]
	resp, err := http.Get(srv.URL + "/search?" + url.Values{"q": {hop.Query}, "format": {"json"}}.Encode())
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var r web.SearchResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		panic(err)
	}
	fmt.Println(r.Results[0].URL == srv.URL+site.EntityPath(hop.SubjectID))
	// Output: true
}
