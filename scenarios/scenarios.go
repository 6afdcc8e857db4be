// Package scenarios embeds the scenario files and point maps shipped with patchgate, so that
// the binaries work with no files beside them. The folder is data; this file only embeds it.
package scenarios

import "embed"

// FS holds pointmaps/*.yaml and the scenario files.
//
//go:embed pointmaps *.yaml
var FS embed.FS
