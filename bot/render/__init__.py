"""Channel renderers: a channel-neutral Reply to what each channel accepts."""
