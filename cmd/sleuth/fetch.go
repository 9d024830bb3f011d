package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/fetch"
)

func newFetchCmd() *cobra.Command {
	var (
		asJSON, allowLoopback, noRobots bool
		cacheDir                        string
		timeout                         time.Duration
		maxBytes                        int64
	)
	cmd := &cobra.Command{
		Use:   "fetch URL",
		Short: "Fetch a URL safely and print what an agent would read",
		Long: "fetch retrieves one untrusted URL through sleuth's safe fetcher (no loopback, private,\n" +
			"link-local or cloud-metadata addresses; robots.txt honoured; size, time and type limits)\n" +
			"and prints the page's title, visible main text and links. A refused URL exits non-zero\n" +
			"with the reason.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := fetch.New(fetch.Config{
				AllowLoopback: allowLoopback,
				IgnoreRobots:  noRobots,
				CacheDir:      cacheDir,
				Timeout:       timeout,
				MaxBytes:      maxBytes,
			})
			if err != nil {
				return err
			}
			defer c.Close()
			p, err := c.Fetch(cmd.Context(), args[0])
			if err != nil {
				return err // a *fetch.RefusedError reads "refused URL: address: reason"
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), p)
			}
			return printPage(cmd.OutOrStdout(), p)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the page as one JSON object")
	f.BoolVar(&allowLoopback, "allow-loopback", false, "allow 127.0.0.0/8 and ::1 (the simulated web, local tests)")
	f.BoolVar(&noRobots, "no-robots", false, "ignore robots.txt")
	f.StringVar(&cacheDir, "cache", "", "disk cache directory (none by default)")
	f.DurationVar(&timeout, "timeout", fetch.DefaultTimeout, "time limit for the whole fetch")
	f.Int64Var(&maxBytes, "max-bytes", fetch.DefaultMaxBytes, "body size limit; longer bodies are truncated")
	return cmd
}

func printPage(w io.Writer, p *fetch.Page) error {
	src := ""
	if p.FromCache {
		src = ", from cache"
	}
	trunc := ""
	if p.Truncated {
		trunc = ", TRUNCATED"
	}
	if _, err := fmt.Fprintf(w, "Title: %s\nURL: %s\n(%d %s, %d bytes%s%s)\n\n%s\n", p.Title, p.FinalURL,
		p.Status, p.ContentType, p.Bytes, trunc, src, p.Text); err != nil {
		return err
	}
	if len(p.Links) > 0 {
		fmt.Fprintf(w, "\nLinks:\n")
		for i, l := range p.Links {
			fmt.Fprintf(w, "[%d] %s <%s>\n", i+1, l.Text, l.URL)
		}
	}
	return nil
}
