// Package testsonly has test files alone, which Load does not read.
package testsonly
