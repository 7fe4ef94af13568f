// Command consent serves the consent service, configured from the environment.
package main

import (
	"github.com/lillvet/register/services/consent"
	"github.com/lillvet/register/services/platform/service"
)

func main() { service.Main(consent.ServiceName, consent.Run) }
