"""Everything the workflows ask of the outside world: activities, the gateway, webhooks, signing, settings,
the codec. The only package that imports ``generated_client``; never imported by workflow code."""
