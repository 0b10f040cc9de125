from pytest_cryptoaudit.cli import main

raise SystemExit(main())
