package model

import (
	"path/filepath"
	"testing"
)

// Loaders of outside files must return errors, never panic, on any bytes.

func FuzzLlama2C(f *testing.F) {
	c := tinyConfig()
	c.Layers, c.SeqLen = 1, 4
	for _, tied := range []bool{true, false} {
		c.TiedEmbeddings = tied
		m, err := NewRandom(c, 1)
		if err != nil {
			f.Fatal(err)
		}
		b := llama2cBytes(m)
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(b[:28])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseLlama2C(data)
		if err == nil && m.Config.Validate() != nil {
			t.Fatal("accepted an invalid config")
		}
	})
}

func FuzzSafetensors(f *testing.F) {
	c := tinyConfig()
	c.Layers = 1
	m, err := NewRandom(c, 1)
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := writeSafetensors(path, hfTensors(c, m.Params, ""), map[string]string{"format": "pt"}); err != nil {
		f.Fatal(err)
	}
	data, release, err := mapFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append([]byte(nil), data...))
	release()
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":{\"dtype\":\"F16\"}}"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		tensors, _, err := parseSafetensors(data)
		if err != nil {
			return
		}
		params := make([]float32, NumParams(c))
		_ = fillFromSafetensors(c, params, tensors, "")
	})
}

func FuzzHFConfig(f *testing.F) {
	f.Add([]byte(`{"architectures":["Qwen2ForCausalLM"],"hidden_size":896,"intermediate_size":4864,"num_hidden_layers":24,"num_attention_heads":14,"num_key_value_heads":2,"vocab_size":151936,"max_position_embeddings":32768,"rope_theta":1000000.0,"rms_norm_eps":1e-06,"tie_word_embeddings":true,"bos_token_id":151643,"eos_token_id":[151645,151643]}`))
	f.Add([]byte(`{"architectures":["LlamaForCausalLM"],"hidden_size":2048,"intermediate_size":8192,"num_hidden_layers":16,"num_attention_heads":32,"num_key_value_heads":8,"vocab_size":128256,"max_position_embeddings":131072,"rope_theta":500000.0,"rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"},"rms_norm_eps":1e-05}`))
	f.Add([]byte(`{"architectures":["GPT2LMHeadModel"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseHFConfig(data)
		if err == nil {
			if c.Validate() != nil {
				t.Fatal("accepted an invalid config")
			}
			_ = c.ropeFreqs()
		}
	})
}

func TestHFConfig(t *testing.T) {
	c, err := ParseHFConfig([]byte(`{"architectures":["Qwen2ForCausalLM"],"hidden_size":896,"intermediate_size":4864,"num_hidden_layers":24,"num_attention_heads":14,"num_key_value_heads":2,"vocab_size":151936,"max_position_embeddings":32768,"rope_theta":1000000.0,"rms_norm_eps":1e-06,"tie_word_embeddings":true,"eos_token_id":[151645,151643]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !c.QKVBias || c.Arch != "qwen2" || c.KVHeads != 2 || c.HeadSize() != 64 || c.EOS != 151645 || c.RopeLayout != RopeHalf {
		t.Errorf("qwen2 config parsed as %+v", c)
	}
	if _, err := ParseHFConfig([]byte(`{"architectures":["GPT2LMHeadModel"],"hidden_size":8}`)); err == nil {
		t.Error("unknown architecture accepted")
	}
	b, err := c.HFConfigJSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseHFConfig(b)
	if err != nil || back != c {
		t.Errorf("config.json round trip: %+v, %v", back, err)
	}
}
