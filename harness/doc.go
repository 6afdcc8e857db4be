// Package harness is patchgate's engine: point maps and the value codec (point), the driver
// interface and its protocol adapters (driver, driver/modbus, driver/opcua), scenarios
// (scenario), the runner (runner), traces (trace), the comparison and the verdict (compare,
// verdict), the store and the patch register (ledger), exports (export), the evidence
// bundle (evidence), and the one validation use case that strings them together
// (validation). Both faces, the CLI and the desktop app, drive it; it knows nothing of
// them, nor of Fyne. The dependency rules of docs/architecture.md#dependency-rules are
// enforced by arch_test.go.
package harness
