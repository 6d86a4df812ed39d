// Empty: this package exists only to fetch unicorn-engine-sys.
