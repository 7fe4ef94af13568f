// Command disclosure serves the disclosure service, configured from the environment.
package main

import (
	"github.com/lillvet/register/services/disclosure"
	"github.com/lillvet/register/services/platform/service"
)

func main() { service.Main(disclosure.ServiceName, disclosure.Run) }
