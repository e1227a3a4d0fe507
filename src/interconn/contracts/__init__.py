"""Node contracts: the agreement (and key exchange) every other cooperation rests on."""
