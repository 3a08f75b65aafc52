"""Channel renderers: one channel-neutral `Reply` in, what each channel can show out."""
