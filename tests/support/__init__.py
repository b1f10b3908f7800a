"""What several test modules share: the stack as tests build it, scripted and real gateways, subprocess
runners. No test lives here, and no test module imports another test module."""
