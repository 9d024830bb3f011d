// Package examples holds sleuth's preset files, one per seed system, as
// data: users copy a file from here to start their own, and the agent
// package embeds the same files as its built-in presets, so the examples can
// never drift from what `--preset NAME` runs.
package examples

import "embed"

// Presets holds every *.yaml preset in this directory.
//
//go:embed *.yaml
var Presets embed.FS

// Training holds the training configurations (`sleuth train --config
// NAME`), train/*.yaml: quickstart (the README's main job), fast (its
// CI-sized version), reading (session 3's longer recipe), progress
// (reading with RL on a per-turn progress reward and a KL anchor) and
// fresh-sft (session 6's quickstart: the strongest policy, RL adding
// little to it); imrag, imrag-fast, arena, mmoa, vrag, vrag-fast,
// deepresearcher and deepresearcher-fast are the seed systems' recipes
// (SFT on the preset's teacher, RL on its reward, held-out table).
//
//go:embed train/*.yaml
var Training embed.FS

// Base holds the built-in base checkpoints, each in the directory named
// for the training config that makes it: base/ (`base: builtin`, made by
// `sleuth train --config base`) and base3/ (`base: builtin:base3`, the
// quickstart's), each a policy, its tokenizer and its manifest (base.json,
// with the hash of every file and of the config that made it).
//
//go:embed base/* base3/*
var Base embed.FS
