// Package deps pins the module's dependencies while the packages that use
// them are being written; it is deleted once every one is imported for real.
package deps

import (
	_ "github.com/Shopify/toxiproxy/v2"
	_ "github.com/anishathalye/porcupine"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/rs/zerolog"
	_ "github.com/spf13/cobra"
	_ "github.com/stretchr/testify/require"
	_ "go.uber.org/goleak"
	_ "gonum.org/v1/plot"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)
