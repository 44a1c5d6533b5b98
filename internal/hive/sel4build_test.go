//go:build cohesix_sel4

package hive

const sel4Build = true
