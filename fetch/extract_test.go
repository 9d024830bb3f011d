package fetch

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// poisoned pages: each hides the word POISON (an injected instruction) in
// one way; the visible sentence must survive and POISON must not.
var poisoned = []struct{ name, body string }{
	{"display none inline", `<p style="display:none">POISON</p>`},
	{"display none spaced important", `<div style="DISPLAY : none !important">POISON</div>`},
	{"visibility hidden", `<span style="visibility:hidden">POISON</span>`},
	{"visibility collapse", `<span style="visibility: collapse">POISON</span>`},
	{"hidden attribute", `<div hidden>POISON</div>`},
	{"hidden until found", `<div hidden="until-found">POISON</div>`},
	{"aria-hidden", `<div aria-hidden="true">POISON</div>`},
	{"aria-hidden caps", `<div aria-hidden="TRUE">POISON</div>`},
	{"font-size zero", `<span style="font-size:0">POISON</span>`},
	{"font-size 0px", `<span style="font-size:0px">POISON</span>`},
	{"font-size 0.5px", `<span style="font-size:.5px">POISON</span>`},
	{"zero size box", `<div style="width:0;height:0">POISON</div>`},
	{"height zero overflow", `<div style="height:0; overflow:hidden">POISON</div>`},
	{"sr-only clip", `<span style="position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0,0,0,0)">POISON</span>`},
	{"clip-path", `<span style="clip-path: inset(50%)">POISON</span>`},
	{"opacity zero", `<p style="opacity:0">POISON</p>`},
	{"scale zero", `<p style="transform:scale(0)">POISON</p>`},
	{"translate away", `<p style="transform: translateX(-9999px)">POISON</p>`},
	{"white on default", `<p style="color:#fff">POISON</p>`},
	{"white name", `<p style="color:white">POISON</p>`},
	{"same colour rgb", `<div style="background:#123456"><p style="color:rgb(18,52,86)">POISON</p></div>`},
	{"near colour", `<div style="background-color:#000"><span style="color:#050505">POISON</span></div>`},
	{"transparent text", `<p style="color:transparent">POISON</p>`},
	{"rgba zero alpha", `<p style="color:rgba(0,0,0,0)">POISON</p>`},
	{"font color", `<body bgcolor="#ffffff"><font color="#FFFFFF">POISON</font></body>`},
	{"script", `<script>var x = "POISON";</script>`},
	{"json script", `<script type="application/ld+json">{"a":"POISON"}</script>`},
	{"style", `<style>/* POISON */ p{}</style>`},
	{"template", `<template><p>POISON</p></template>`},
	{"noscript", `<noscript>POISON</noscript>`},
	{"comment", `<!-- POISON -->`},
	{"closed dialog", `<dialog>POISON</dialog>`},
	{"textarea", `<textarea>POISON</textarea>`},
	{"input value", `<input type="hidden" value="POISON">`},
	{"iframe srcdoc", `<iframe srcdoc="POISON">POISON</iframe>`},
	{"svg text", `<svg><text>POISON</text></svg>`},
	{"offscreen left", `<div style="position:absolute; left:-9999px">POISON</div>`},
	{"offscreen top", `<div style="position:fixed;top:-10000px">POISON</div>`},
	{"offscreen em", `<div style="position:absolute;left:-100em">POISON</div>`},
	{"text-indent", `<div style="text-indent:-9999px">POISON</div>`},
	{"class rule", `<style>.x{display:none}</style><p class="a x">POISON</p>`},
	{"id rule", `<style>#n { visibility: hidden; }</style><p id="n">POISON</p>`},
	{"tag class rule", `<style>span.h{font-size:0}</style><span class="h">POISON</span>`},
	{"descendant rule", `<style>.box .inner{display:none}</style><div class="box"><p class="inner">POISON</p></div>`},
	{"child rule", `<style>div.box > p{color:#fff}</style><div class="box"><p>POISON</p></div>`},
	{"selector list", `<style>.a, .b { display:none }</style><p class="b">POISON</p>`},
	{"rule after comment", `<style>/* c */ .q{opacity:0}</style><p class="q">POISON</p>`},
	{"same colour via rules", `<style>.dark{background:#222} .dark p{color:#222}</style><div class="dark"><p>POISON</p></div>`},
	{"white over background image", `<div style="background:url(data:,);color:#fff">POISON</div>`},
	{"css escape value", `<p style="display:\6e one">POISON</p>`},
	{"css escape name", `<p style="d\isplay: none">POISON</p>`},
	{"comment in inline style", `<p style="display:/* x */none">POISON</p>`},
	{"escaped class selector", `<style>.\68 idden{display:none}</style><p class="hidden">POISON</p>`},
	{"content-visibility", `<div style="content-visibility:hidden">POISON</div>`},
	{"negative margin", `<div style="margin-left:-10000px">POISON</div>`},
	{"far right", `<div style="position:absolute;left:99999px">POISON</div>`},
	{"opacity percent", `<p style="opacity:0%">POISON</p>`},
	{"filter opacity", `<p style="filter: opacity(0)">POISON</p>`},
	{"text fill transparent", `<p style="-webkit-text-fill-color:transparent">POISON</p>`},
	{"inherit keeps colour", `<div style="color:#fff"><span style="color:inherit">POISON</span></div>`},
	{"media all", `<style>@media all { .m { display:none } }</style><p class="m">POISON</p>`},
	{"media screen and min-width", `<style>@media screen and (min-width: 1px){.m{font-size:0}}</style><p class="m">POISON</p>`},
	{"media unknown feature", `<style>@media (prefers-color-scheme: dark){.m{display:none}}</style><p class="m">POISON</p>`},
	{"supports block", `<style>@supports (display:grid){#s{visibility:hidden}}</style><p id="s">POISON</p>`},
	{"layer block", `<style>@layer base{.l{display:none}}</style><p class="l">POISON</p>`},
	{"nested rule", `<style>.outer{color:#000; .inner{display:none}}</style><div class="outer"><p class="inner">POISON</p></div>`},
	{"attribute selector", `<style>[data-x]{display:none}</style><p data-x="1">POISON</p>`},
	{"attribute value", `<style>p[data-state="closed" i]{display:none}</style><p data-state="CLOSED">POISON</p>`},
	{"attribute prefix", `<style>[class^="hid"]{display:none}</style><p class="hidme">POISON</p>`},
	{"sibling combinator", `<style>h2 + div{display:none}</style><h2>Head</h2><div>POISON</div>`},
	{"has", `<style>div:has(.mark){display:none}</style><div><span class="mark">POISON</span></div>`},
	{"where", `<style>:where(.w1, .w2) {display:none}</style><div class="w2">POISON</div>`},
	{"general sibling", `<style>.a ~ .b{visibility:hidden}</style><p class="a">Head</p><p class="b">POISON</p>`},
	{"hover widened", `<style>.x:hover .tip{color:red} .tip{display:none}</style><div class="x"><p class="tip">POISON</p></div>`},
	{"is widened", `<style>:is(.a, .b){display:none}</style><p class="b">POISON</p>`},
	{"not hides", `<style>p:not(.keep){display:none}</style><p>POISON</p><p class="keep">The visible fact.</p>`},
	{"nth-child hides", `<style>li:nth-child(2){display:none}</style><ul><li>one</li><li>POISON</li></ul>`},
	{"last-child hides", `<style>li:last-child{display:none}</style><ul><li>one</li><li>POISON</li></ul>`},
	{"stray semicolon", `<style>a{color:red};.z{display:none}</style><p class="z">POISON</p>`},
	{"nested hidden", `<div style="display:none"><div><p style="display:block">POISON</p></div></div>`},
}

// zero-width and other invisible characters that smuggle text.
var invisibleChars = []string{"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\U000E0041"}

func page(inner string) string {
	return "<html><head><title>T</title></head><body><p>The visible fact.</p>" + inner + "</body></html>"
}

func TestPoisonedPages(t *testing.T) {
	t.Parallel()
	for _, tc := range poisoned {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := Extract([]byte(page(tc.body)), nil)
			if strings.Contains(d.Text, "POISON") || strings.Contains(d.Title, "POISON") {
				t.Errorf("hidden text leaked: %q", d.Text)
			}
			if !strings.Contains(d.Text, "The visible fact.") {
				t.Errorf("visible text lost: %q", d.Text)
			}
		})
	}
}

func TestBodyTextAttribute(t *testing.T) {
	t.Parallel()
	d := Extract([]byte(`<html><body text="#fff"><p>POISON</p><p style="color:#000">The visible fact.</p></body></html>`), nil)
	if d.Text != "The visible fact." {
		t.Errorf("got %q", d.Text)
	}
}

func TestInvisibleCharacters(t *testing.T) {
	t.Parallel()
	for _, ch := range invisibleChars {
		d := Extract([]byte(page("<p>ab"+ch+"cd</p><a href='http://x.test/'>li"+ch+"nk</a>")), nil)
		if strings.Contains(d.Text, ch) {
			t.Errorf("%U leaked into text %q", []rune(ch)[0], d.Text)
		}
		if !strings.Contains(d.Text, "abcd") {
			t.Errorf("%U: text %q lacks abcd", []rune(ch)[0], d.Text)
		}
		if len(d.Links) != 1 || d.Links[0].Text != "link" {
			t.Errorf("%U: links %v", []rune(ch)[0], d.Links)
		}
	}
}

// Things that look suspicious but are visible must be kept.
func TestVisibleKept(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, body, want string }{
		{"white on black", `<div style="background:#000"><p style="color:#fff">KEEP</p></div>`, "KEEP"},
		{"unrelated class rule", `<style>.x{display:none}</style><p class="xy">KEEP</p>`, "KEEP"},
		{"media rule ignored", `<style>@media print{.p{display:none}}</style><p class="p">KEEP</p>`, "KEEP"},
		{"hover unhide ignored", `<style>.tip{display:block} .x:hover .tip{color:red}</style><p class="tip">KEEP</p>`, "KEEP"},
		{"not active tab", `<style>.tab:not(.active){display:none}</style><div class="tab active">KEEP</div><div class="tab">gone</div>`, "KEEP"},
		{"nth-child shows first", `<style>li:nth-child(n+3){display:none}</style><ul><li>KEEP</li><li>b</li><li>c</li></ul>`, "KEEP"},
		{"media for phones", `<style>@media (max-width: 600px) { .wide { display:none } }</style><p class="wide">KEEP</p>`, "KEEP"},
		{"media print", `<style>@media print { .p { display:none } }</style><p class="p">KEEP</p>`, "KEEP"},
		{"small but readable", `<p style="font-size:10px">KEEP</p>`, "KEEP"},
		{"relative shift", `<p style="position:relative;left:-5px">KEEP</p>`, "KEEP"},
		{"details body", `<details><summary>S</summary>KEEP</details>`, "KEEP"},
		{"gradient text", `<p style="background:linear-gradient(red,blue);background-clip:text;-webkit-text-fill-color:transparent">KEEP</p>`, "KEEP"},
		{"inherit on dark", `<div style="background:#000;color:#fff"><span style="color:inherit">KEEP</span></div>`, "KEEP"},
		{"widened to everything skipped", `<style>:hover{display:none}</style>KEEP`, "KEEP"},
		{"open dialog", `<dialog open>KEEP</dialog>`, "KEEP"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Extract([]byte(page(tc.body)), nil)
			if !strings.Contains(d.Text, tc.want) {
				t.Errorf("lost %q: %q", tc.want, d.Text)
			}
		})
	}
}

func TestExtractStructure(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("http://site.test/dir/page.html")
	body := `<html><head><title> The  Title </title></head><body>
<header class="site-header"><a href="/">Site</a> <a href="/about">About</a></header>
<div class="cookie-banner">We use cookies. Accept?</div>
<main>
<h1>Main heading</h1>
<p>First   paragraph with <a href="other.html">a link</a> and <b>bold</b>text.</p>
<h2>Section</h2>
<ul><li>one</li><li>two <a href="https://ext.test/x#frag">ext</a></li></ul>
<table><tr><th>Name</th><th>Value</th></tr><tr><td>a</td><td>1</td></tr></table>
<pre>line 1
  line 2</pre>
<p>Line<br>break</p>
<a href="javascript:alert(1)">js</a><a href="mailto:x@y">mail</a>
</main>
<aside class="related">Related: <a href="/r">other story</a></aside>
<footer>Copyright</footer>
</body></html>`
	d := Extract([]byte(body), base)
	want := Document{
		Title: "The Title",
		Text: "# Main heading\n\nFirst paragraph with a link and boldtext.\n\n## Section\n\n- one\n- two ext\n\n" +
			"Name | Value\na | 1\n\nline 1\n  line 2\n\nLine\nbreak\n\njsmail",
		Headings: []Heading{{1, "Main heading"}, {2, "Section"}},
		Links:    []Link{{"a link", "http://site.test/dir/other.html"}, {"ext", "https://ext.test/x"}},
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("Extract (-want +got):\n%s", diff)
	}
}

func TestLinkLists(t *testing.T) {
	t.Parallel()
	menu := `<div class="top"><a href="/a">Home page</a> | <a href="/b">Products</a> | <a href="/c">Contact us</a></div>`
	article := `<p>` + strings.Repeat("The river runs to the sea past the old mill. ", 8) + `See <a href="/d">the mill</a>.</p>`
	d := Extract([]byte("<body>"+menu+article+"</body>"), nil)
	if strings.Contains(d.Text, "Products") || !strings.Contains(d.Text, "old mill") || !strings.Contains(d.Text, "See the mill.") {
		t.Errorf("menu kept or article lost: %q", d.Text)
	}
	index := `<h1>Rivers</h1><ul><li><a href="/r1">Amber River</a></li><li><a href="/r2">Birch River</a></li><li><a href="/r3">Cedar River</a></li></ul>`
	d = Extract([]byte("<body>"+index+"</body>"), url0)
	if len(d.Links) != 3 || !strings.Contains(d.Text, "- Cedar River") {
		t.Errorf("index page lost its list: %q %v", d.Text, d.Links)
	}
}

var url0, _ = url.Parse("http://site.test/")

func TestExtractTestdata(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/*.html")
	if len(files) == 0 {
		t.Fatal("no testdata pages")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			d := Extract(b, nil)
			if strings.Contains(d.Text, "POISON") {
				t.Errorf("%s: hidden text leaked", f)
			}
			if !strings.Contains(d.Text, "FACT") {
				t.Errorf("%s: main text lost: %q", f, d.Text)
			}
			for _, boiler := range []string{"Accept all cookies", "Subscribe to our newsletter", "All rights reserved"} {
				if strings.Contains(d.Text, boiler) {
					t.Errorf("%s: boilerplate %q kept", f, boiler)
				}
			}
		})
	}
}
