//go:build !unix

package redis_test

import "time"

// processCPU is not measured off Unix: the benchmarks report no CPU figure.
func processCPU() time.Duration { return 0 }
