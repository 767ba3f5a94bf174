//go:build race

package report

// Under the race detector, rasterizing and PNG-encoding the charts takes
// about twenty times as long: the tests render them at screen density
// instead of twice it (a quarter of the pixels). Without -race they render
// at the density Generate uses.
func init() { dpi = 96 }
