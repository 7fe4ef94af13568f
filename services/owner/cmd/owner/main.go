// Command owner serves the owner service, configured from the environment.
package main

import (
	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/service"
)

func main() { service.Main(owner.ServiceName, owner.Run) }
