declare module 'virtual:sluice-node-types' {
  const catalog: unknown[];
  export default catalog;
}
