package web

import (
	"errors"
	"strings"
)

// apiKeyEnv names the environment variable that holds each keyed
// provider's API key.
var apiKeyEnv = map[string]string{Brave: "BRAVE_API_KEY", Serper: "SERPER_API_KEY", Tavily: "TAVILY_API_KEY"}

// SpecProvider is the provider a search spec names ("searxng:URL",
// "brave", "serper", "tavily"); SearXNG for an empty spec.
func SpecProvider(spec string) string {
	p, _, _ := strings.Cut(spec, ":")
	if p == "" {
		p = SearXNG
	}
	return p
}

// FromSpec builds the client a search spec names: "searxng:URL" (the
// SearXNG base URL is required), or "brave", "serper" or "tavily"
// (optionally ":BASE_URL"), their API keys read with getenv from
// BRAVE_API_KEY, SERPER_API_KEY and TAVILY_API_KEY.
func FromSpec(spec string, getenv func(string) string) (*Client, error) {
	provider, base, _ := strings.Cut(spec, ":")
	if provider == SearXNG && base == "" {
		return nil, errors.New("--search searxng:URL needs the SearXNG base URL")
	}
	cfg := Config{BaseURL: base}
	if env := apiKeyEnv[provider]; env != "" {
		cfg.APIKey = getenv(env)
	}
	return New(provider, cfg)
}
