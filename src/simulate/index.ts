export { simulate, type SimulationOptions, type SimulationResult, type SimSend, type DayRow } from './run.js';
export { DEFAULT_ASSUMPTIONS, NO_ENGAGEMENT, type Assumptions } from './assumptions.js';
export { loadCustomers, syntheticCustomers, customersFromFile, scratchEngine, type SimCustomerInput } from './data.js';
export { simulationTable, describeAssumptions } from './table.js';
