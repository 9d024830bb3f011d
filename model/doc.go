// Package model is sleuth's own Llama-family decoder engine (Llama and
// Qwen2): configs, loaders (llama2.c .bin, safetensors + config.json),
// inference with a KV cache, batched generation with per-token logprobs,
// training (full forward/backward, AdamW, schedules) and checkpoints.
//
// Why our own engine: sleuth trains its agent policies itself on ordinary
// CPUs, and the measured alternative was too slow. GoMLX v0.26's pure-Go
// backend trains the 4-layer d=128 model of `sleuth bench model` at about
// 120 tokens/s on 2 cores, with more than 70% of the time spent in
// broadcasting element-wise ops; this engine calls fused SIMD kernels
// (package model/kernels) on one flat parameter buffer instead.
//
// Layout follows llm.c: every parameter lives in one []float32 with named
// views (see Weights), gradients and AdamW moments use the same layout, and
// training ops come in forward/backward pairs (ops.go) each checked against
// finite differences. The architecture itself (llama.go) is a small tree of
// structs whose Forward methods read like the paper.
//
// Entry points: Load (any checkpoint) or NewRandom; Model.Generate and
// Model.Score for inference; NewTrainer / LoadTrainer, ForwardBackward and
// Update for training; Model.Save and Trainer.Save for checkpoints. The
// models here are single-threaded until Model.SetMatmuls is given a
// multi-core *kernels.Kernels; attention and element-wise work is split
// across GOMAXPROCS by the engine itself.
//
// Legend used in shape comments: B batch, T time (sequence), C model width
// (Dim), F MLP hidden width, H query heads, KV key/value heads, D head size,
// V vocabulary, L layers, R rows (tokens processed at once during inference).
package model
