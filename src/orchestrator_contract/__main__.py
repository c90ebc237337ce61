from orchestrator_contract.cli import main

raise SystemExit(main())
