// Package simweb holds the fetcher's end-to-end tests and benchmark against
// the simulated web (package web). They live apart from package fetch so
// that fetch's own tests do not depend on the higher-level web, world and
// search packages.
package simweb
