// Package broken does not type-check, for TestLoadFails.
package broken

var n int = "not a number"
