// Command history serves the patient-history service, configured from the environment.
package main

import (
	"github.com/lillvet/register/services/history"
	"github.com/lillvet/register/services/platform/service"
)

func main() { service.Main(history.ServiceName, history.Run) }
