package model

// KVCache holds one sequence's keys and values for every layer, both
// transposed per kv head, (L, KV, D, Cap): attention then works on long
// contiguous rows over positions (an axpy per head element for the scores,
// a dot per head element for the output) instead of many D-long ones.
type KVCache struct {
	K, V []float32
	Cap  int // positions the cache can hold
	Len  int // positions filled
}

// NewKVCache allocates a cache for capacity positions (at most SeqLen).
func (m *Model) NewKVCache(capacity int) *KVCache {
	capacity = min(capacity, m.Config.SeqLen)
	n := m.Config.Layers * capacity * m.Config.KVDim()
	return &KVCache{K: make([]float32, n), V: make([]float32, n), Cap: capacity}
}

// CopyFrom makes c hold src's first src.Len positions (prefix sharing for a
// group of samples from one prompt). Both caches must come from one model
// and c.Cap must be at least src.Len.
func (c *KVCache) CopyFrom(src *KVCache, layers, kvHeads, headSize int) {
	n, D := src.Len, headSize
	for lh := 0; lh < layers*kvHeads; lh++ {
		for d := range D {
			copy(c.K[(lh*D+d)*c.Cap:(lh*D+d)*c.Cap+n], src.K[(lh*D+d)*src.Cap:])
			copy(c.V[(lh*D+d)*c.Cap:(lh*D+d)*c.Cap+n], src.V[(lh*D+d)*src.Cap:])
		}
	}
	c.Len = src.Len
}

// cacheAppend stores one position's roped key and value rows (KV·D).
func (m *Model) cacheAppend(c *KVCache, l, pos int, k, v []float32) {
	D, KV := m.Config.HeadSize(), m.Config.KVHeads
	for h := range KV {
		lh := l*KV + h
		for d := range D {
			c.K[(lh*D+d)*c.Cap+pos] = k[h*D+d]
			c.V[(lh*D+d)*c.Cap+pos] = v[h*D+d]
		}
	}
}
